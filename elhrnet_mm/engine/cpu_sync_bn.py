"""Synchronized batch normalization that also runs in CPU processes (gloo).

PyTorch's :class:`torch.nn.SyncBatchNorm` (what ``cfg.sync_bn='torch'`` and
``norm_cfg=dict(type='SyncBN')`` build) raises ``SyncBatchNorm expected input
tensor to be on GPU``, and DistributedDataParallel refuses to wrap a CPU
module containing one (``SyncBatchNorm layers only work with GPU modules``);
MMCV's SyncBN is CUDA-only.
"""
import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


class CPUSyncBatchNorm(_BatchNorm):
    """Batch normalization with statistics over all processes of a group.

    In training mode, in a process group of more than one process, the batch
    statistics are taken over the inputs of all processes with two
    autograd-aware all-reduces (the sum, then the sum of squared deviations
    from the global mean: the two-pass variance), accumulated in float64::

        mean = sum_r sum(x_r) / n,   var = sum_r sum((x_r - mean)^2) / n
        y = (x - mean) / sqrt(var + eps) * weight + bias

    with ``n`` the element count per channel over all processes. Running
    statistics are updated as ``BatchNorm`` over the whole global batch would
    (unbiased variance ``var * n / (n - 1)``), identically on all ranks. The
    backward all-reduces the gradients of both statistics, like PyTorch's
    CUDA SyncBN: the gradient of the sum of all processes' losses. Otherwise
    (eval mode, one process) it is plain batch normalization. Works with any
    backend and device; used for CPU processes, where PyTorch's own cannot
    run. Parameters and buffers are those of ``nn.BatchNorm2d`` and
    ``nn.SyncBatchNorm``, so checkpoints are interchangeable.

    Args: as :class:`torch.nn.SyncBatchNorm`.

    Shapes:
        input (N, C, ...) -> output (N, C, ...), the same shape.
    """

    def __init__(self,
                 num_features: int,
                 eps: float = 1e-5,
                 momentum: float = 0.1,
                 affine: bool = True,
                 track_running_stats: bool = True,
                 process_group=None):
        super().__init__(num_features, eps, momentum, affine,
                         track_running_stats)
        self.process_group = process_group

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(
                f'expected at least 2D input (got {input.dim()}D input)')

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        group = self.process_group or dist.group.WORLD
        if not (self.training and dist.is_available()
                and dist.is_initialized()
                and dist.get_world_size(group) > 1):
            return super().forward(input)
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked)
        x = input.float()
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        # statistics accumulate in float64, as PyTorch's CPU batch norm does
        wide = torch.float64
        count = torch.tensor([x.numel() / x.size(1)], dtype=wide)
        sums = dist_fn.all_reduce(
            torch.cat([x.sum(dims, dtype=wide), count]), group=group)
        n = sums[-1]
        mean = sums[:-1] / n
        centred = x - mean.to(x.dtype).view(shape)
        var = dist_fn.all_reduce(
            (centred * centred).sum(dims, dtype=wide), group=group) / n
        out = centred * torch.rsqrt(var + self.eps).to(x.dtype).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                unbiased = var * n / (n - 1).clamp(min=1)
                self.running_mean.lerp_(mean.to(self.running_mean), factor)
                self.running_var.lerp_(unbiased.to(self.running_var), factor)
        return out.to(input.dtype)


def convert_cpu_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every :class:`torch.nn.SyncBatchNorm` in ``module`` by a
    :class:`CPUSyncBatchNorm` sharing its parameters and buffers.

    Returns the converted module (a new one if ``module`` itself is a
    SyncBatchNorm), as :meth:`torch.nn.SyncBatchNorm.convert_sync_batchnorm`.
    """
    out = module
    if type(module) is nn.SyncBatchNorm:
        out = CPUSyncBatchNorm(module.num_features, module.eps,
                               module.momentum, module.affine,
                               module.track_running_stats,
                               module.process_group)
        if module.affine:
            out.weight, out.bias = module.weight, module.bias
        if module.track_running_stats:
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
    for name, child in module.named_children():
        out.add_module(name, convert_cpu_sync_batchnorm(child))
    return out
