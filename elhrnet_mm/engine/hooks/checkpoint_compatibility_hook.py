"""Refuse to load a checkpoint that does not fit the model."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS

from ...utils.checkpoint_safety import check_state_dict_fits


@HOOKS.register_module()
class CheckpointCompatibilityHook(Hook):
    """Check ``load_from``/``--resume`` checkpoints against the model.

    MMEngine's Runner loads checkpoints with ``strict=False``: keys that do
    not match, and tensors whose shapes differ, are only logged, and the
    affected layers silently keep their initial weights. This hook inspects
    the checkpoint before it is loaded (``after_load_checkpoint``) and
    raises :class:`~elhrnet_mm.utils.checkpoint_safety.CheckpointMismatchError`
    listing the missing, unexpected and shape-mismatched keys.

    Args:
        allow_partial (bool): load the matching part anyway, logging the
            mismatch as a warning (MMEngine's behaviour); for fine-tuning
            from a checkpoint with, e.g., another head. Default: False.
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_partial: bool = False):
        if not isinstance(allow_partial, bool):
            raise ValueError('CheckpointCompatibilityHook allow_partial must '
                             f'be True or False, got {allow_partial!r}')
        self.allow_partial = allow_partial

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        source = runner.cfg.get('load_from') or 'the checkpoint to resume'
        mismatch = check_state_dict_fits(
            model,
            checkpoint.get('state_dict', checkpoint),
            source=source,
            allow_partial=self.allow_partial)
        if mismatch:
            runner.logger.warning(mismatch)
