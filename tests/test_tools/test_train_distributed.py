"""``tools/train.py --launcher pytorch`` on 2 CPU processes (gloo) equals a
1-process run with the same total batch (see docs/distributed.md).

What is compared and why:

* Both runs start from the same weights (``load_from``) and see the same
  samples per iteration: batch 4 in one process, 2 + 2 in two (MMEngine's
  DefaultSampler deals a shuffled epoch out round-robin; ``drop_last`` keeps
  every step at 4 samples). The pipeline has no random augmentation, whose
  draws would differ per process.
* BatchNorm statistics over 2 samples differ from those over 4, so the
  2-process run uses ``sync_bn='torch'`` (CPUSyncBatchNorm over gloo).
* The 2-process runs log the loss averaged over both processes
  (AverageLogVarsHook), i.e. that of the global batch of 4.
* Plain SGD at lr 1e-4: the tiny network's BN-normalized convs start at
  std 0.001, so their effective step size is huge and larger steps (or Adam,
  whose first step is lr * sign(grad)) amplify float32 rounding differences
  of the two reduction orders chaotically. Measured at lr 1e-4 (2026-11-21):
  losses agree to 1.3e-6 relative, the total weight update to 1.5%; a
  2-process run without SyncBN misses by 6e-5..8e-4 and 42%, and its BN
  running statistics by up to 4e-4 (SyncBN: 8e-7).
"""
import os.path as osp
import sys

import pytest
import torch

import tiny_run

pytestmark = pytest.mark.slow

MIM = osp.join(osp.dirname(sys.executable), 'mim')
CODEC = dict(
    type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=2)
PIPELINE = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=CODEC['input_size']),
    dict(type='GenerateTarget', encoder=CODEC),
    dict(type='PackPoseInputs')
]
LOSS_RTOL = 2e-5  # per iteration, relative
UPDATE_RTOL = 0.05  # |dw_2 - dw_1| / |dw_1| over all parameters


def initial_weights(path):
    """Weights of the tiny model, built and initialised once, saved."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(tiny_run.TINY_CONFIG).model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict()}, str(path))
    return model.state_dict()


@pytest.fixture(scope='module')
def runs(tmp_path_factory, tiny_coco):
    tmp = tmp_path_factory.mktemp('dist')
    w0 = initial_weights(tmp / 'init.pth')
    common = {
        'load_from': str(tmp / 'init.pth'),
        'optim_wrapper.optimizer': dict(type='SGD', lr=1e-4),
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'train_dataloader.drop_last': True,
        'train_dataloader.dataset.pipeline': PIPELINE,
    }
    one = tiny_run.write_config(
        tmp / 'one.py', tiny_coco,
        dict(common, **{'train_dataloader.batch_size': 4}))
    two = dict(common, **{'train_dataloader.batch_size': 2})
    two_sync = tiny_run.write_config(tmp / 'two_sync.py', tiny_coco,
                                     dict(two, sync_bn='torch'))
    two_bn = tiny_run.write_config(tmp / 'two_bn.py', tiny_coco, two)
    out = {}
    single = tiny_run.start(tiny_run.train_args(one, tmp / 'one'))
    rc, log = tiny_run.run([  # torchrun
        sys.executable, '-m', 'torch.distributed.run', '--standalone',
        '--nproc_per_node', '2', tiny_run.TRAIN, two_sync, '--work-dir',
        str(tmp / 'two_sync'), '--launcher', 'pytorch'
    ])
    assert rc == 0, log[-3000:]
    out['torchrun_log'] = log
    rc, log = tiny_run.finish(single)
    assert rc == 0, log[-3000:]
    rc, log = tiny_run.run([
        MIM, 'train', 'elhrnet_mm', two_bn, '--launcher', 'pytorch', '--gpus',
        '2', '--port', str(tiny_run.free_port()), '--work-dir',
        str(tmp / 'two_bn')
    ])
    assert rc == 0, log[-3000:]
    out['mim_log'] = log
    for name in ('one', 'two_sync', 'two_bn'):
        out[name] = dict(
            weights=tiny_run.weights(tmp / name / 'epoch_1.pth'),
            scalars=tiny_run.scalars(tmp / name))
    out['w0'] = w0
    return out


def losses(run):
    return [row['loss'] for row in run['scalars'][0]]


def update_difference(run, ref, w0):
    """|(w - w0) - (w_ref - w0)| / |w_ref - w0| over all parameters."""
    num = den = 0.0
    for key, w_ref in ref['weights'].items():
        if not w_ref.is_floating_point() or 'running_' in key:
            continue
        d_ref = w_ref.double() - w0[key].double()
        num += (run['weights'][key].double() - w_ref.double()).pow(2).sum()
        den += d_ref.pow(2).sum()
    return float((num / den).sqrt())


def test_two_gloo_processes_ran(runs):
    log = runs['torchrun_log']
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert "type='CPUDistributedDataParallel'" in log
    # DefaultSampler splits each epoch; every iteration is one global batch
    assert len(losses(runs['two_sync'])) == len(losses(runs['one'])) == 6
    for name in ('one', 'two_sync', 'two_bn'):
        assert runs[name]['scalars'][1], f'{name}: no validation logged'
        assert all(torch.isfinite(torch.tensor(losses(runs[name]))))


def test_syncbn_run_matches_one_process(runs):
    ref, two = losses(runs['one']), losses(runs['two_sync'])
    assert two == pytest.approx(ref, rel=LOSS_RTOL)
    assert update_difference(runs['two_sync'], runs['one'],
                             runs['w0']) < UPDATE_RTOL
    # SyncBN running statistics are those of the global batch
    for key, value in runs['one']['weights'].items():
        if 'running_' in key:
            torch.testing.assert_close(
                runs['two_sync']['weights'][key], value, rtol=0.01, atol=1e-5)


def test_mim_launcher_pytorch_trains_with_per_process_bn(runs):
    assert '--launcher pytorch' in runs['mim_log']
    assert 'torch.distributed.launch' in runs['mim_log']
    # per-process BN normalizes 2 samples, not 4: the first loss already
    # differs, and the updates much more than with SyncBN
    assert losses(runs['two_bn'])[0] != pytest.approx(
        losses(runs['one'])[0], rel=LOSS_RTOL / 10)
    assert update_difference(runs['two_bn'], runs['one'], runs['w0']) > 5 * \
        update_difference(runs['two_sync'], runs['one'], runs['w0'])
