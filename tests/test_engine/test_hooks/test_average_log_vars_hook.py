"""AverageLogVarsHook outside distributed runs; the 2-process average is
checked end to end by tests/test_tools/test_train_distributed.py (the logged
loss of 2 processes equals the 1-process loss of the whole batch)."""
import torch

from elhrnet_mm.engine import AverageLogVarsHook


def test_single_process_leaves_outputs_alone():
    outputs = {'loss': torch.tensor(0.5), 'acc_pose': torch.tensor(0.25)}
    AverageLogVarsHook().after_train_iter(None, 0, None, outputs)
    assert outputs == {'loss': torch.tensor(0.5),
                       'acc_pose': torch.tensor(0.25)}


def test_runs_before_the_runtime_info_hook():
    from mmengine.hooks import RuntimeInfoHook
    from mmengine.runner.priority import get_priority
    assert get_priority(AverageLogVarsHook.priority) < get_priority(
        RuntimeInfoHook.priority)
