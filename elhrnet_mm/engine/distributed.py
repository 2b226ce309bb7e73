"""Multi-process training on machines without GPUs, through MMEngine.

On GPUs MMEngine's own launcher code does everything (NCCL). Without GPUs it
fails twice: ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` even
for gloo, and ``Runner.wrap_model`` passes ``device_ids`` that PyTorch's DDP
rejects for CPU modules. :func:`setup_distributed` sidesteps both without
changing MMEngine: it creates the gloo process group from the variables
torchrun sets (``Runner.setup_env`` only initializes one when none exists)
and selects :class:`~elhrnet_mm.engine.cpu_ddp.CPUDistributedDataParallel`
as ``model_wrapper_cfg``.
"""
import datetime
import os

import torch.distributed as dist
from mmengine.device import get_device

#: Variables torchrun / ``torch.distributed.launch`` set for every process.
TORCHRUN_ENV = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                'MASTER_PORT')
_CPU_WRAPPER = 'CPUDistributedDataParallel'


def setup_distributed(cfg, launcher: str) -> None:
    """Prepare ``cfg`` (and, on CPU, the process group) for ``launcher``.

    Call before ``Runner.from_cfg(cfg)``. Does nothing for ``'none'`` or when
    MMEngine runs on an accelerator. On CPU, with ``launcher='pytorch'``:

    * initializes the default process group with the gloo backend from
      torchrun's environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
      ``MASTER_PORT``), with ``env_cfg.dist_cfg.timeout`` (seconds) if set;
      ``dist_cfg.backend`` (``'nccl'`` in MMPose's configs) is ignored;
    * sets ``model_wrapper_cfg`` to ``CPUDistributedDataParallel`` (keeping
      the other keys of an ``MMDistributedDataParallel`` wrapper config;
      ``broadcast_buffers=False`` and ``find_unused_parameters`` from the
      config as MMEngine's default wrapper does). ``cfg.sync_bn='torch'``
      then runs as :class:`~elhrnet_mm.engine.cpu_sync_bn.CPUSyncBatchNorm`.

    Raises:
        ValueError: for ``slurm``/``mpi`` launchers on CPU (start the
            processes with torchrun instead, see docs/distributed.md), for
            ``sync_bn='mmcv'`` on CPU, or when torchrun's variables are
            missing.
    """
    if launcher == 'none' or get_device() != 'cpu':
        return
    if launcher != 'pytorch':
        raise ValueError(
            f'--launcher {launcher} needs GPUs in MMEngine; on CPU-only '
            'machines start the processes with torchrun (also inside srun '
            'or mpirun) and use --launcher pytorch; allowed on CPU: none, '
            'pytorch (see docs/distributed.md)')
    if cfg.get('sync_bn') not in (None, 'torch'):
        raise ValueError(
            f"sync_bn={cfg.sync_bn!r} is CUDA-only; on CPU allowed: 'torch' "
            '(runs as CPUSyncBatchNorm) or None')
    if not dist.is_initialized():
        missing = [k for k in TORCHRUN_ENV if k not in os.environ]
        if missing:
            raise ValueError(
                f'--launcher pytorch but {missing} are not set; start the '
                'script with torchrun --nproc_per_node N ... (or python -m '
                'torch.distributed.launch)')
        kwargs = {}
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout')
        if timeout is not None:
            kwargs['timeout'] = datetime.timedelta(seconds=timeout)
        dist.init_process_group(
            backend='gloo',
            init_method='env://',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    if wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', _CPU_WRAPPER):
        wrapper['type'] = _CPU_WRAPPER
        wrapper.setdefault('broadcast_buffers', False)
        wrapper.setdefault('find_unused_parameters',
                           cfg.get('find_unused_parameters', False))
        cfg.model_wrapper_cfg = wrapper
