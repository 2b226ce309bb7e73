"""Switch a config's hooks to the crash- and mismatch-safe ones."""

_CHECKPOINT_HOOKS = ('CheckpointHook', 'mmengine.CheckpointHook')


def _has_hook(hooks, name: str) -> bool:
    return any(h.get('type') in (name, f'mmpose.{name}') for h in hooks)


def use_safe_hooks(cfg) -> None:
    """Make ``cfg`` save, resume and load checkpoints safely.

    * ``default_hooks.checkpoint`` of type ``CheckpointHook`` becomes
      :class:`~elhrnet_mm.engine.hooks.AtomicCheckpointHook` (same
      arguments);
    * :class:`~elhrnet_mm.engine.hooks.CheckpointCompatibilityHook` and
      :class:`~elhrnet_mm.engine.hooks.AverageLogVarsHook` are appended to
      ``custom_hooks`` unless the config already has them (put your own
      ``dict(type='CheckpointCompatibilityHook', allow_partial=True)`` there
      to load a partly matching checkpoint on purpose).

    Custom checkpoint hook types are left alone, and so is the checkpoint
    hook of a ``FlexibleRunner`` (``runner_type``), whose DeepSpeed/FSDP
    strategies save directories.
    """
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
    if (checkpoint is not None
            and checkpoint.get('type') in _CHECKPOINT_HOOKS
            and cfg.get('runner_type', 'Runner') == 'Runner'):
        checkpoint['type'] = 'AtomicCheckpointHook'
    hooks = list(cfg.get('custom_hooks') or [])
    for name in ('CheckpointCompatibilityHook', 'AverageLogVarsHook'):
        if not _has_hook(hooks, name):
            hooks.append(dict(type=name))
    cfg.custom_hooks = hooks
