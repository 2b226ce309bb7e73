"""Checked checkpoint loading and ``weights_only``-loadable checkpoints for
the duration of a run."""
from typing import Callable, Optional

from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ...utils.checkpoint_safety import enable_safe_checkpoint_loading


@HOOKS.register_module()
class SafeCheckpointLoadingHook(Hook):
    """Apply :func:`~elhrnet_mm.utils.checkpoint_safety.
    enable_safe_checkpoint_loading` from ``before_run`` to ``after_run``.

    While the run lasts, MMEngine's loader of local checkpoint files is
    :func:`~elhrnet_mm.utils.checkpoint_safety.load_local_checkpoint`
    (empty, truncated or damaged files fail with an error naming the file),
    and ``HistoryBuffer`` pickles as a constructor call, so the checkpoints
    the run writes load under ``torch.load(weights_only=True)``. The Runner
    calls ``before_run`` before it initialises weights
    (``init_cfg=dict(type='Pretrained')``) and loads ``load_from`` or
    resumes, so every load of the run is checked; ``after_run`` restores
    what was registered before. Declared in ``configs/_base_/
    default_runtime.py``.
    """

    priority = 'HIGHEST'

    def __init__(self):
        self._restore: Optional[Callable[[], None]] = None

    def before_run(self, runner) -> None:
        if self._restore is None:
            self._restore = enable_safe_checkpoint_loading()

    def after_run(self, runner) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None
