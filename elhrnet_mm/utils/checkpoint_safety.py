"""Let MMEngine checkpoints load under ``torch.load(weights_only=True)``.

PyTorch >= 2.6 unpickles checkpoints with ``weights_only=True`` by default,
which only rebuilds tensors, containers and allow-listed types. Checkpoints
written by MMEngine's Runner also hold NumPy arrays and scalars (dataset
metainfo, message-hub scalars) and MMEngine's ``HistoryBuffer``, so loading
them fails with ``Unsupported global``. The usual advice,
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``, turns the protection off for every
load. Instead this module allow-lists exactly those data-only types; a pickle
that references anything else (``os.system``, ``builtins.eval``, ...) is
still refused by PyTorch.
"""
from typing import List

import numpy as np
import torch


def _numpy_globals() -> List[object]:
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(t)) for t in (np.bool_, np.int8, np.int16, np.int32,
                                    np.int64, np.uint8, np.uint16, np.uint32,
                                    np.uint64, np.float16, np.float32,
                                    np.float64, np.str_, np.object_)
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype] + dtype_classes


def checkpoint_safe_globals() -> List[object]:
    """The types MMEngine checkpoints contain beyond tensors and containers."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return _numpy_globals() + [HistoryBuffer]


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`checkpoint_safe_globals` for ``weights_only`` loads.

    Idempotent; a no-op on PyTorch versions without
    ``torch.serialization.add_safe_globals``.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(checkpoint_safe_globals())
