# What every elhrnet_mm config adds to MMPose's runtime, so that MMPose's own
# tools/train.py, `mim train elhrnet_mm ...` and our tools/train.py run the
# same hooks:
# * AtomicCheckpointHook replaces CheckpointHook (same arguments): a crash
#   while saving never leaves a half-written checkpoint, resume is exact;
# * SafeCheckpointLoadingHook: while the run lasts, checkpoints are loaded by
#   elhrnet_mm's checked loader (damaged files fail naming the file) and the
#   ones it writes load under torch.load(weights_only=True);
# * CheckpointCompatibilityHook: load_from/--resume checkpoints of another
#   architecture are refused (allow_partial=True loads the matching part);
# * AverageLogVarsHook: logged losses are averaged over all processes.
#
# MMEngine refuses a key that two bases of one config both define, and
# default_hooks/custom_hooks are defined by every MMPose config we build on,
# so this file names the hooks under its own keys and each config inherits
# it beside its MMPose base and applies them:
#
#   _base_ = ['mmpose::<MMPose config>', '../_base_/default_runtime.py']
#   default_hooks = dict(checkpoint=_base_.atomic_checkpoint_hook)
#   custom_hooks = _base_.custom_hooks + _base_.elhrnet_custom_hooks
#
# MMEngine replaces lists: a config inheriting ours that adds a hook extends
# the list (custom_hooks = _base_.custom_hooks + [dict(type=...)]).
custom_imports = dict(imports=['elhrnet_mm'], allow_failed_imports=False)

atomic_checkpoint_hook = dict(type='AtomicCheckpointHook')
elhrnet_custom_hooks = [
    dict(type='SafeCheckpointLoadingHook'),
    dict(type='CheckpointCompatibilityHook'),
    dict(type='AverageLogVarsHook'),
]
