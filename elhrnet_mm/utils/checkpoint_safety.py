"""Let MMEngine checkpoints load under ``torch.load(weights_only=True)``.

PyTorch >= 2.6 unpickles checkpoints with ``weights_only=True`` by default,
which only rebuilds tensors, containers and allow-listed types. Checkpoints
written by MMEngine's Runner also hold NumPy arrays and scalars (dataset
metainfo, message-hub scalars) and MMEngine's ``HistoryBuffer``, so loading
them fails with ``Unsupported global``. The usual advice,
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``, turns the protection off for every
load. Instead this module

* allow-lists exactly those data-only types, and
* makes ``HistoryBuffer`` pickle as a plain constructor call with its
  arrays: by default its instance dict holds bound methods, which pickle as
  ``builtins.getattr(...)``, a global that must never be allow-listed.

A pickle that references anything else (``os.system``, ``builtins.eval``,
``getattr``, ...) is still refused by PyTorch. Checkpoints written before
``elhrnet_mm`` was imported keep their ``getattr`` references and still need
``weights_only=False`` (only for files you trust).
"""
import copyreg
from typing import List

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer


def _numpy_globals() -> List[object]:
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(t)) for t in (np.bool_, np.int8, np.int16, np.int32,
                                    np.int64, np.uint8, np.uint16, np.uint32,
                                    np.uint64, np.float16, np.float32,
                                    np.float64, np.str_)
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype] + dtype_classes


def checkpoint_safe_globals() -> List[object]:
    """The types MMEngine checkpoints contain beyond tensors and containers."""
    return _numpy_globals() + [HistoryBuffer]


def _reduce_history_buffer(buffer: HistoryBuffer) -> tuple:
    return HistoryBuffer, (buffer._log_history, buffer._count_history,
                           buffer.max_length)


def allow_mmengine_checkpoints() -> None:
    """Make MMEngine checkpoints round-trip through ``weights_only`` loads.

    Idempotent. Registers the ``HistoryBuffer`` reducer and allow-lists
    :func:`checkpoint_safe_globals` (a no-op for the latter on PyTorch
    versions without ``torch.serialization.add_safe_globals``).
    """
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(checkpoint_safe_globals())
