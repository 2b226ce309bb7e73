"""CPUSyncBatchNorm: 2 gloo processes == BatchNorm over the whole batch."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from elhrnet_mm.engine import CPUSyncBatchNorm, convert_cpu_sync_batchnorm

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# Each rank normalizes its half of a batch of 4 through CPUSyncBatchNorm
# inside DDP; rank 0 reports the largest differences to BatchNorm2d applied to
# the whole batch in one process (outputs, input and parameter gradients,
# running statistics after two steps). The module is loaded from its file so
# the processes import only torch (fast).
SCRIPT = r'''
import importlib.util, json, sys
import torch, torch.distributed as dist, torch.nn as nn
spec = importlib.util.spec_from_file_location('m', sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
dist.init_process_group('gloo')
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
x = torch.randn(4, 8, 6, 5) * 3 + 1
target = torch.randn(4, 8, 6, 5)
ref = nn.BatchNorm2d(8)
with torch.no_grad():
    ref.weight.uniform_(0.5, 1.5); ref.bias.uniform_(-1, 1)
sync = mod.CPUSyncBatchNorm(8)
sync.load_state_dict(ref.state_dict())
ddp = nn.parallel.DistributedDataParallel(sync)
diff = {}
for step in range(2):
    xr = x.clone().requires_grad_()
    xs = x.chunk(world)[rank].clone().requires_grad_()
    out_ref = ref(xr); ((out_ref - target) ** 2).mean().backward()
    out = ddp(xs); ((out - target.chunk(world)[rank]) ** 2).mean().backward()
    diff[f'out{step}'] = (out - out_ref.chunk(world)[rank]).abs().max().item()
    # the local loss is the mean over 1/world of the batch; SyncBN's backward
    # sums every rank's loss, so input gradients are world x the reference's
    ref_grad = xr.grad.chunk(world)[rank] * world
    diff[f'grad_in{step}'] = (xs.grad - ref_grad).abs().max().item()
    for name in ('weight', 'bias'):
        a, b = getattr(sync, name).grad, getattr(ref, name).grad
        diff[f'{name}_grad{step}'] = (a - b).abs().max().item()
        getattr(sync, name).grad = None; getattr(ref, name).grad = None
for name in ('running_mean', 'running_var'):
    diff[name] = (getattr(sync, name) - getattr(ref, name)).abs().max().item()
diff['num_batches_tracked'] = int(sync.num_batches_tracked)
if rank == 0:
    print('RESULT ' + json.dumps(diff))
'''


@pytest.mark.slow
def test_two_gloo_processes_match_batchnorm_on_whole_batch(tmp_path):
    script = tmp_path / 'sync_bn_check.py'
    script.write_text(SCRIPT)
    module = osp.join(ROOT, 'elhrnet_mm', 'engine', 'cpu_sync_bn.py')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
           '--nproc_per_node', '2', str(script), module]
    # a session of its own, so a timeout kills torchrun's workers too
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr[-3000:]
    line, = [x for x in stdout.splitlines() if x.startswith('RESULT ')]
    diff = json.loads(line[len('RESULT '):])
    assert diff.pop('num_batches_tracked') == 2
    # float32 values of order 1: agreement to rounding error
    for key, value in diff.items():
        assert value < 1e-5, (key, value)


def test_single_process_is_plain_batchnorm():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, 5)
    ref, sync = nn.BatchNorm2d(4), CPUSyncBatchNorm(4)
    assert torch.equal(ref(x), sync(x))
    assert torch.equal(ref.running_var, sync.running_var)
    ref.eval(), sync.eval()
    assert torch.equal(ref(x), sync(x))
    with pytest.raises(ValueError, match='at least 2D'):
        sync(torch.randn(4))


def test_convert_replaces_torch_syncbn_and_shares_tensors():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.SyncBatchNorm(4),
                          nn.Sequential(nn.SyncBatchNorm(4, momentum=None)))
    weight = model[1].weight
    model.eval()
    out = convert_cpu_sync_batchnorm(model)
    assert out is model
    assert type(model[1]) is CPUSyncBatchNorm
    assert type(model[2][0]) is CPUSyncBatchNorm
    assert model[2][0].momentum is None and not model[1].training
    assert model[1].weight is weight
    assert sorted(model.state_dict()) == sorted(
        nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                      nn.Sequential(nn.BatchNorm2d(4))).state_dict())
    top = convert_cpu_sync_batchnorm(nn.SyncBatchNorm(2))
    assert type(top) is CPUSyncBatchNorm
