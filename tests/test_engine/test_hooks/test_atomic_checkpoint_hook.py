"""AtomicCheckpointHook: crash-safe files, exact generator state on resume.

A stand-in runner writes the checkpoints (the hook only needs MMEngine's
``Runner.save_checkpoint`` contract); a crash while writing is simulated by
writing half the bytes and raising, which leaves the same files on disk as a
SIGKILL at that moment would (tests/test_tools/test_train_resume.py kills a
real run).
"""
import io
import os
import os.path as osp
import random
import uuid

import numpy as np
import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub, MMLogger

from elhrnet_mm.engine import AtomicCheckpointHook
from elhrnet_mm.utils.checkpoint_safety import (CorruptCheckpointError,
                                                load_local_checkpoint)


class SimulatedCrash(Exception):
    pass


class StandInRunner:
    """What CheckpointHook uses of a Runner; ``crash_on`` names a file whose
    write stops halfway."""

    def __init__(self, work_dir):
        name = f'atomic-{uuid.uuid4()}'
        self.work_dir = str(work_dir)
        self.logger = MMLogger.get_instance(name)
        self.message_hub = MessageHub.get_instance(name)
        self.epoch = self.iter = 0
        self.crash_on = None

    def save_checkpoint(self, out_dir, filename, file_client_args=None,
                        meta=None, **kwargs):
        buffer = io.BytesIO()
        torch.save({'meta': meta, 'state_dict': {'w': torch.arange(4096.)}},
                   buffer)
        data = buffer.getvalue()
        with open(osp.join(out_dir, filename), 'wb') as f:
            if self.crash_on and filename.startswith(self.crash_on):
                f.write(data[:len(data) // 2])
                raise SimulatedCrash(filename)
            f.write(data)

    def end_epoch(self, hook):
        """What the train loop does around CheckpointHook at an epoch end."""
        self.iter += 7
        hook._save_checkpoint(self)
        self.epoch += 1


def make(hook_type, tmp_path, **kwargs):
    runner = StandInRunner(tmp_path)
    hook = hook_type(interval=1, **kwargs)
    hook.before_train(runner)
    return runner, hook


def last_checkpoint(tmp_path):
    return (tmp_path / 'last_checkpoint').read_text()


def test_rotation_deletes_old_checkpoint_only_after_new_one(tmp_path):
    runner, hook = make(AtomicCheckpointHook, tmp_path, max_keep_ckpts=1)
    runner.end_epoch(hook)
    runner.end_epoch(hook)
    assert sorted(os.listdir(tmp_path)) == ['epoch_2.pth', 'last_checkpoint']
    assert last_checkpoint(tmp_path) == str(tmp_path / 'epoch_2.pth')
    assert runner.message_hub.get_info('keep_ckpt_ids') == [2]
    meta = load_local_checkpoint(str(tmp_path / 'epoch_2.pth'))['meta']
    assert meta['epoch'] == 2 and meta['iter'] == 14
    state, = meta['rng_states']  # one per process
    assert sorted(state) == ['numpy', 'python', 'torch']


@pytest.mark.parametrize('hook_type', [CheckpointHook, AtomicCheckpointHook])
def test_crash_while_writing(tmp_path, hook_type):
    """MMEngine's hook loses every intact checkpoint; ours keeps the last."""
    runner, hook = make(hook_type, tmp_path, max_keep_ckpts=1)
    runner.end_epoch(hook)
    runner.crash_on = 'epoch_2'
    with pytest.raises(SimulatedCrash):
        runner.end_epoch(hook)
    last = last_checkpoint(tmp_path)
    if hook_type is CheckpointHook:
        assert not osp.exists(last)  # epoch_1 was deleted before the write
        with pytest.raises(CorruptCheckpointError, match='epoch_2.pth'):
            load_local_checkpoint(str(tmp_path / 'epoch_2.pth'))
        return
    assert last == str(tmp_path / 'epoch_1.pth')
    assert load_local_checkpoint(last)['meta']['epoch'] == 1
    assert not osp.exists(tmp_path / 'epoch_2.pth')
    # the half-written file keeps a name no loader looks for
    assert osp.exists(tmp_path / 'epoch_2.pth.partial')


def draws():
    return (random.random(), float(np.random.rand()), float(torch.rand(1)))


def resumed_hook(tmp_path, checkpoint, runner_iter):
    runner, hook = StandInRunner(tmp_path / 'resumed'), AtomicCheckpointHook(
        interval=1)
    os.makedirs(runner.work_dir)
    hook.after_load_checkpoint(runner, checkpoint)
    runner.iter = runner_iter  # Runner.resume sets it; load_from does not
    return runner, hook


def test_resume_restores_the_generators_of_the_checkpoint(tmp_path):
    runner, hook = make(AtomicCheckpointHook, tmp_path)
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    draws()
    runner.end_epoch(hook)
    expected = draws()
    checkpoint = load_local_checkpoint(str(tmp_path / 'epoch_1.pth'))
    torch.manual_seed(2), np.random.seed(2), random.seed(2)
    runner, hook = resumed_hook(tmp_path, checkpoint, runner_iter=7)
    hook.before_train(runner)
    assert draws() == expected


def test_weights_only_load_leaves_generators_alone(tmp_path):
    runner, hook = make(AtomicCheckpointHook, tmp_path)
    runner.end_epoch(hook)
    checkpoint = load_local_checkpoint(str(tmp_path / 'epoch_1.pth'))
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    expected = draws()
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    runner, hook = resumed_hook(tmp_path, checkpoint, runner_iter=0)
    hook.before_train(runner)
    assert draws() == expected


def test_other_process_count_keeps_seeded_generators(tmp_path, caplog):
    runner, hook = make(AtomicCheckpointHook, tmp_path)
    runner.end_epoch(hook)
    checkpoint = load_local_checkpoint(str(tmp_path / 'epoch_1.pth'))
    states = checkpoint['meta']['rng_states']
    checkpoint['meta']['rng_states'] = states * 2  # as if from 2 processes
    torch.manual_seed(4), np.random.seed(4), random.seed(4)
    expected = draws()
    torch.manual_seed(4), np.random.seed(4), random.seed(4)
    runner, hook = resumed_hook(tmp_path, checkpoint, runner_iter=7)
    warnings = []
    runner.logger.warning = warnings.append
    hook.before_train(runner)
    assert draws() == expected
    assert any('2 processes but this run has 1' in w for w in warnings)


def end_val(runner, hook, ap):
    """What the val loop does: CheckpointHook.after_val_epoch with metrics."""
    hook.after_val_epoch(runner, {'coco/AP': ap})


@pytest.mark.parametrize('hook_type', [CheckpointHook, AtomicCheckpointHook])
def test_crash_while_writing_a_new_best(tmp_path, hook_type):
    """MMEngine deletes the old best before writing the new one; we keep
    the old best until the new one is complete."""
    runner, hook = make(
        hook_type, tmp_path, save_best='coco/AP', rule='greater')
    runner.end_epoch(hook)
    end_val(runner, hook, 0.5)
    assert osp.isfile(tmp_path / 'best_coco_AP_epoch_1.pth')
    runner.end_epoch(hook)
    runner.crash_on = 'best_coco_AP_epoch_2'
    with pytest.raises(SimulatedCrash):
        end_val(runner, hook, 0.6)
    best = sorted(p for p in os.listdir(tmp_path) if p.startswith('best_'))
    if hook_type is CheckpointHook:
        assert best == ['best_coco_AP_epoch_2.pth']  # old best gone
        with pytest.raises(CorruptCheckpointError):
            load_local_checkpoint(str(tmp_path / best[0]))
        return
    assert best == ['best_coco_AP_epoch_1.pth', 'best_coco_AP_epoch_2.pth'
                    '.partial']
    assert load_local_checkpoint(
        str(tmp_path / best[0]))['meta']['epoch'] == 1
    assert runner.save_checkpoint.__func__ is StandInRunner.save_checkpoint


def test_new_best_replaces_old_best_after_it_is_written(tmp_path):
    runner, hook = make(
        AtomicCheckpointHook, tmp_path, save_best='coco/AP', rule='greater')
    for ap in (0.5, 0.4, 0.6):
        runner.end_epoch(hook)
        end_val(runner, hook, ap)
    best = sorted(p for p in os.listdir(tmp_path) if p.startswith('best_'))
    assert best == ['best_coco_AP_epoch_3.pth']
    assert load_local_checkpoint(
        str(tmp_path / best[0]))['meta']['epoch'] == 3
    assert runner.message_hub.get_info('best_score') == 0.6
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.partial')]
