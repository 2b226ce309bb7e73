"""Snapshot and restore the random number generators of every process.

A resumed run draws the same augmentation parameters as an uninterrupted one
only if the generators continue where they were when the checkpoint was
written; re-seeding at resume would replay the first epoch's draws.
"""
import random
from typing import Dict, List

import numpy as np
import torch
from mmengine.dist import all_gather_object


def get_rng_state() -> Dict[str, object]:
    """The state of Python's, NumPy's and PyTorch's global generators.

    Values are tuples, NumPy arrays and tensors, all of which load under
    ``torch.load(weights_only=True)`` once ``elhrnet_mm`` is imported.
    """
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: Dict[str, object]) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'])


def gather_rng_states() -> List[Dict[str, object]]:
    """Every process's :func:`get_rng_state`, indexed by rank.

    A collective: all processes must call it. Returns one entry when the run
    is not distributed.
    """
    return all_gather_object(get_rng_state())
