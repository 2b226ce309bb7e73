"""Test helper: a hook that SIGKILLs the training process at an iteration.

Imported by training subprocesses through ``custom_imports`` (with this
directory on PYTHONPATH); not a test module.
"""
import os
import signal

from mmengine.hooks import Hook
from mmpose.registry import HOOKS


@HOOKS.register_module()
class SigkillHook(Hook):
    """Kill the process, as ``kill -9`` would, after iteration ``at_iter``
    (1-based, counted over the whole run)."""

    def __init__(self, at_iter: int):
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)
