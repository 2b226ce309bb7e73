"""DistributedDataParallel for models trained in CPU processes (gloo)."""
from mmengine.model import MMDistributedDataParallel
# MMEngine's root registry: Runner.wrap_model looks the type up there
from mmengine.registry import MODEL_WRAPPERS

from .cpu_sync_bn import convert_cpu_sync_batchnorm


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """:class:`~mmengine.model.MMDistributedDataParallel` for CPU modules.

    MMEngine's ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]``,
    which PyTorch rejects for a module on the CPU; this wrapper drops it.
    Its :class:`torch.nn.SyncBatchNorm` layers (from ``cfg.sync_bn='torch'``
    or ``norm_cfg=dict(type='SyncBN')``) become
    :class:`~elhrnet_mm.engine.cpu_sync_bn.CPUSyncBatchNorm`, which
    synchronizes over gloo. Other arguments are those of
    ``MMDistributedDataParallel``; :func:`~elhrnet_mm.engine.distributed.
    setup_distributed` selects this wrapper on machines without GPUs.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        super().__init__(
            module=convert_cpu_sync_batchnorm(module),
            device_ids=None,
            **kwargs)
