"""Let MMEngine checkpoints load under ``torch.load(weights_only=True)``.

PyTorch >= 2.6 unpickles checkpoints with ``weights_only=True`` by default,
which only rebuilds tensors, containers and allow-listed types. Checkpoints
written by MMEngine's Runner also hold NumPy arrays and scalars (dataset
metainfo, message-hub scalars) and MMEngine's ``HistoryBuffer``, so loading
them fails with ``Unsupported global``. The usual advice,
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``, turns the protection off for every
load. Instead

* ``import elhrnet_mm`` allow-lists exactly those data-only types
  (:func:`allow_mmengine_checkpoints`), and nothing else;
* a run that declares
  :class:`~elhrnet_mm.engine.hooks.SafeCheckpointLoadingHook` (every
  config of ours, through ``configs/_base_/default_runtime.py``) gets, for
  the duration of the run (:func:`enable_safe_checkpoint_loading`):

  - ``HistoryBuffer`` pickled as a plain constructor call with its arrays
    (by default its instance dict holds bound methods, which pickle as
    ``builtins.getattr(...)``, a global that must never be allow-listed),
  - :func:`load_local_checkpoint` as MMEngine's loader of local files, which
    verifies the file first (empty, truncated, CRC mismatch) and names the
    file in every error.

A pickle that references anything else (``os.system``, ``builtins.eval``,
``getattr``, ...) is still refused by PyTorch. Checkpoints written without
the hook keep their ``getattr`` references and still need
``weights_only=False`` (only for files you trust).
:func:`check_state_dict_fits` refuses checkpoints of another architecture.
"""
import copyreg
import os.path as osp
import pickle
import zipfile
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader

_ZIP_MAGIC = b'PK\x03\x04'
#: Keys listed per kind of mismatch before "... and N more".
MAX_LISTED_KEYS = 10


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is empty, truncated or damaged."""


class CheckpointMismatchError(ValueError):
    """A checkpoint's tensors do not fit the model (another architecture)."""


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


def verify_checkpoint_file(filename: str) -> None:
    """Raise :class:`CorruptCheckpointError` naming ``filename`` if it is
    empty, a truncated zip archive, or a zip archive whose members fail
    their CRC-32 check (``torch.save`` writes zip archives with CRCs since
    PyTorch 1.6; ``torch.load`` itself does not check them, so a damaged
    tensor would load silently). Members stored without a CRC
    (``torch.serialization.set_crc32_options(False)``) and files in
    PyTorch's legacy format are left to ``torch.load``.
    """
    size = osp.getsize(filename)
    if size == 0:
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} is empty (0 bytes)')
    with open(filename, 'rb') as f:
        magic = f.read(len(_ZIP_MAGIC))
    if magic != _ZIP_MAGIC:
        return
    hint = ('it was probably being written when a run stopped, or copied '
            'incompletely; use an earlier checkpoint')
    try:
        zf = zipfile.ZipFile(filename)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} ({size} bytes) is a truncated or '
            f'damaged zip archive ({err}); {hint}') from err
    with zf:
        for info in zf.infolist():
            # CRC 0: saved with torch.serialization.set_crc32_options(False)
            if info.CRC == 0:
                continue
            try:
                with zf.open(info) as member:  # checks the CRC at the end
                    while member.read(1 << 24):
                        pass
            except (zipfile.BadZipFile, OSError, EOFError) as err:
                raise CorruptCheckpointError(
                    f'checkpoint {filename!r} ({size} bytes) is damaged: '
                    f'archive member {info.filename!r} fails its CRC-32 '
                    f'check ({err}); {hint}') from err


def load_local_checkpoint(filename: str, map_location=None):
    """MMEngine's local-file checkpoint loader, with clear errors.

    Same contract as ``mmengine.runner.checkpoint.load_from_local``
    (``torch.load`` with PyTorch's default ``weights_only``). Raises
    FileNotFoundError, :class:`CorruptCheckpointError` (see
    :func:`verify_checkpoint_file`, or unreadable content) or
    ``pickle.UnpicklingError`` (the pickle references a global that
    ``weights_only`` refuses, e.g. code to run), each naming the file.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} can not be found')
    verify_checkpoint_file(filename)
    try:
        return torch.load(filename, map_location=map_location)
    except pickle.UnpicklingError as err:
        if 'global' in str(err).lower():
            raise pickle.UnpicklingError(
                f'checkpoint {filename!r} was refused: {err}') from err
        # weights_only wraps every unpickling error in a long explanation
        # that suggests weights_only=False; keep only the actual cause
        cause = str(err).rsplit('WeightsUnpickler error:', 1)[-1].strip()
        cause = cause.split('\n\n')[0]
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} ({osp.getsize(filename)} bytes) is not '
            f'a readable PyTorch checkpoint: {cause}') from err
    except (RuntimeError, OSError, EOFError, KeyError, ValueError) as err:
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} ({osp.getsize(filename)} bytes) is not '
            f'a readable PyTorch checkpoint: {type(err).__name__}: '
            f'{err}') from err


def _listing(title: str, items: List[str]) -> str:
    shown = items[:MAX_LISTED_KEYS]
    more = len(items) - len(shown)
    return f'  {len(items)} {title}: ' + ', '.join(shown) + (
        f', ... and {more} more' if more else '')


def state_dict_mismatch(model: nn.Module,
                        state_dict: Dict[str, torch.Tensor]) -> str:
    """Describe how ``state_dict`` fails to fit ``model``; '' if it fits.

    A ``module.`` prefix (DataParallel checkpoints) is ignored, as MMEngine's
    Runner strips it, and so are BN ``num_batches_tracked`` counters (old
    checkpoints lack them). Lists missing keys, unexpected keys and shape
    mismatches, at most :data:`MAX_LISTED_KEYS` of each.
    """
    expected = model.state_dict()
    given = {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in state_dict.items()
    }
    counter = 'num_batches_tracked'  # a BN step count, not a weight
    missing = [
        k for k in expected if k not in given and not k.endswith(counter)
    ]
    unexpected = [
        k for k in given if k not in expected and not k.endswith(counter)
    ]
    shapes = [
        f'{k} {tuple(given[k].shape)} vs model {tuple(v.shape)}'
        for k, v in expected.items() if k in given
        and hasattr(given[k], 'shape') and given[k].shape != v.shape
    ]
    parts = []
    if missing:
        parts.append(_listing('keys of the model missing in it', missing))
    if unexpected:
        parts.append(_listing('keys not in the model', unexpected))
    if shapes:
        parts.append(_listing('tensors of another shape', shapes))
    return '\n'.join(parts)


def check_state_dict_fits(model: nn.Module,
                          state_dict: Dict[str, torch.Tensor],
                          source: str = 'the checkpoint',
                          allow_partial: bool = False) -> Optional[str]:
    """Raise :class:`CheckpointMismatchError` unless ``state_dict`` fits.

    With ``allow_partial=True`` nothing is raised; the description of the
    mismatch (or None when it fits) is returned for logging.
    """
    mismatch = state_dict_mismatch(model, state_dict)
    if not mismatch:
        return None
    message = (f'{source} does not fit the model ({type(model).__name__}); '
               f'it was probably saved from another architecture or '
               f'config:\n{mismatch}')
    if allow_partial:
        return message + '\nLoading the matching tensors only ' \
            '(allow_partial=True).'
    raise CheckpointMismatchError(
        message + "\nTo load the matching tensors on purpose add "
        "custom_hooks=[dict(type='CheckpointCompatibilityHook', "
        "allow_partial=True)]; to initialise a backbone from a backbone "
        "checkpoint use its init_cfg=dict(type='Pretrained', "
        "prefix='backbone.', checkpoint=...).")


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`checkpoint_safe_globals` for ``weights_only`` loads.

    Idempotent; what ``import elhrnet_mm`` does (a no-op on PyTorch versions
    without ``torch.serialization.add_safe_globals``). Changes nothing else:
    MMEngine's loaders and how ``HistoryBuffer`` pickles stay as they are
    (see :func:`enable_safe_checkpoint_loading`).
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(checkpoint_safe_globals())


def enable_safe_checkpoint_loading() -> Callable[[], None]:
    """Make MMEngine save and load checkpoints safely, until undone.

    Registers the ``HistoryBuffer`` reducer (so checkpoints written from
    now on load under ``weights_only``) and :func:`load_local_checkpoint` as
    MMEngine's loader of local files (the ``''`` scheme of
    ``CheckpointLoader``, which every Runner load, resume, ``load_checkpoint``
    and ``init_cfg=dict(type='Pretrained')`` goes through). Process-wide, so
    :class:`~elhrnet_mm.engine.hooks.SafeCheckpointLoadingHook` calls it at
    ``before_run`` and the returned function at ``after_run``.

    Returns:
        Callable[[], None]: restores the loader and the pickling that were
        registered before the call.
    """
    previous_reducer = copyreg.dispatch_table.get(HistoryBuffer)
    previous_loader = CheckpointLoader._schemes.get('')
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)

    def restore() -> None:
        if previous_reducer is None:
            copyreg.dispatch_table.pop(HistoryBuffer, None)
        else:
            copyreg.dispatch_table[HistoryBuffer] = previous_reducer
        if previous_loader is None:
            CheckpointLoader._schemes.pop('', None)
        else:
            CheckpointLoader.register_scheme(
                prefixes='', loader=previous_loader, force=True)

    return restore


@contextmanager
def safe_checkpoint_loading() -> Iterator[None]:
    """:func:`enable_safe_checkpoint_loading` for a ``with`` block, e.g.
    around ``mmengine.runner.load_checkpoint`` outside a Runner."""
    restore = enable_safe_checkpoint_loading()
    try:
        yield
    finally:
        restore()
