"""Training infrastructure: distributed runs on CPU, crash-safe checkpoints.

Importing it registers :class:`CPUDistributedDataParallel` (in MMEngine's
``MODEL_WRAPPERS``, where ``Runner.wrap_model`` looks it up) and the hooks of
:mod:`.hooks` (in ``mmpose.registry.HOOKS``), which configs declare
(``configs/_base_/default_runtime.py``). ``tools/train.py`` and
``tools/test.py`` call :func:`prepare_run` (config and data checks,
:func:`setup_distributed`); see docs/distributed.md and docs/robustness.md.
"""
from .cpu_ddp import CPUDistributedDataParallel
from .cpu_sync_bn import CPUSyncBatchNorm, convert_cpu_sync_batchnorm
from .distributed import setup_distributed
from .prepare import prepare_run
from .hooks import (AtomicCheckpointHook, AverageLogVarsHook,
                    CheckpointCompatibilityHook, SafeCheckpointLoadingHook)

__all__ = [
    'AtomicCheckpointHook', 'AverageLogVarsHook',
    'CheckpointCompatibilityHook', 'CPUDistributedDataParallel',
    'CPUSyncBatchNorm', 'convert_cpu_sync_batchnorm', 'prepare_run',
    'SafeCheckpointLoadingHook', 'setup_distributed'
]
