"""setup_distributed in this (CPU-only) process; two-process runs are in
tests/test_tools/test_train_distributed.py."""
import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from elhrnet_mm.engine import setup_distributed


cpu_only = pytest.mark.skipif(
    torch.cuda.is_available(), reason='on GPUs MMEngine sets up NCCL itself')


def cfg(**kwargs):
    return Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl')), **kwargs))


def test_none_launcher_changes_nothing():
    c = cfg()
    setup_distributed(c, 'none')
    assert 'model_wrapper_cfg' not in c and not dist.is_initialized()


@cpu_only
@pytest.mark.parametrize('launcher', ['slurm', 'mpi'])
def test_cuda_only_launchers_are_refused_on_cpu(launcher):
    with pytest.raises(ValueError, match='torchrun.*allowed on CPU'):
        setup_distributed(cfg(), launcher)


@cpu_only
def test_mmcv_syncbn_is_refused_on_cpu():
    with pytest.raises(ValueError, match="sync_bn='mmcv'.*allowed"):
        setup_distributed(cfg(sync_bn='mmcv'), 'pytorch')


@cpu_only
def test_missing_torchrun_variables(monkeypatch):
    monkeypatch.delenv('MASTER_ADDR', raising=False)
    with pytest.raises(ValueError, match='MASTER_ADDR'):
        setup_distributed(cfg(), 'pytorch')


@cpu_only
def test_gloo_group_and_cpu_wrapper(monkeypatch):
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
                           MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(port)).items():
        monkeypatch.setenv(key, value)
    c = cfg(model_wrapper_cfg=dict(
        type='MMDistributedDataParallel', find_unused_parameters=True))
    try:
        setup_distributed(c, 'pytorch')
        assert dist.get_backend() == 'gloo' and dist.get_world_size() == 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    assert c.model_wrapper_cfg == dict(
        type='CPUDistributedDataParallel',
        find_unused_parameters=True,
        broadcast_buffers=False)
