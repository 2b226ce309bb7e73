"""Hooks of elhrnet_mm, registered in ``mmpose.registry.HOOKS``."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .average_log_vars_hook import AverageLogVarsHook
from .checkpoint_compatibility_hook import CheckpointCompatibilityHook
from .safe_checkpoint_loading_hook import SafeCheckpointLoadingHook

__all__ = [
    'AtomicCheckpointHook', 'AverageLogVarsHook',
    'CheckpointCompatibilityHook', 'SafeCheckpointLoadingHook'
]
