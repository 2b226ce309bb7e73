"""A batch-size-independent form of Dite-HRNet's dynamic kernels, for export.

:class:`~elhrnet_mm.models.blocks.dynamic_kernel_conv.KernelAggregation`
mixes its K kernels per sample and runs the N mixed kernels as ONE grouped
convolution with ``groups * N`` groups. ONNX's ``Conv`` takes ``group`` as a
constant attribute, so that graph only works at the batch size it was
traced with. Convolution is linear in its kernel, so

    conv(x, sum_k a_k W_k) + sum_k a_k b_k = sum_k a_k (conv(x, W_k) + b_k)

and :class:`KernelBankConv` computes the right-hand side: ONE convolution
with the whole bank (``K * C_out`` output channels, the fixed groups of the
layer), then the attention-weighted sum over K. No operator depends on N.
The price is K times the convolution's MACs (plus ``K * C_out * H * W``
multiply-adds for the sum): at 256x192 the conv MACs grow by 27% for
Dite-HRNet-18 (its stem's dense 1x1 DKA convs at 1/2 resolution) and by 3%
for EDite-HRNet-S (docs/deployment.md). A fixed-batch export does not pay
it.

:func:`replace_kernel_aggregation` swaps every ``KernelAggregation`` of a
model for this form; the ONNX exporter applies it for ``--dynamic-batch``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..models.blocks.dynamic_kernel_conv import KernelAggregation
from ..models.blocks.folded_kernel_aggregation import (
    FoldedKernelAggregation, aggregation_and_shift)


class KernelBankConv(nn.Module):
    """``KernelAggregation`` computed as one bank conv and a weighted sum.

    Built from a ``KernelAggregation`` or a BN-folded one
    (``FoldedKernelAggregation``): its bank (K, C_out, C_in / g, kh, kw) is
    reordered so that each of the g conv groups holds the K kernels of its
    ``C_out / g`` output channels, and its bias bank (K, C_out) and folded
    ``shift`` (C_out, ) are kept. The weights are copies: build it from a
    trained, fused module.

    Args:
        aggregation (KernelAggregation | FoldedKernelAggregation): the
            module to reproduce.

    Shapes:
        input (N, C_in, H, W) and attention (N, K) ->
        output (N, C_out, H_out, W_out), as ``KernelAggregation``.
    """

    def __init__(self, aggregation: nn.Module):
        super().__init__()
        aggregation, shift = aggregation_and_shift(aggregation)
        k, c_out = aggregation.num_kernels, aggregation.out_channels
        g = aggregation.groups
        self.num_kernels = k
        self.groups = g
        self.out_channels = c_out
        self.stride = aggregation.stride
        self.padding = aggregation.padding
        self.dilation = aggregation.dilation
        bank = aggregation.weight.detach()
        # (K, g, C_out/g, ...) -> (g, K, C_out/g, ...): conv group i outputs
        # channels [i * K * C_out/g, (i + 1) * K * C_out/g) = its K kernels
        self.register_buffer(
            'bank',
            bank.reshape(k, g, c_out // g, *bank.shape[2:]).transpose(
                0, 1).reshape(k * c_out, *bank.shape[2:]).clone())
        bias = aggregation.bias
        self.register_buffer(
            'bias_bank', None if bias is None else bias.detach().clone())
        self.register_buffer(
            'shift', None if shift is None else shift.detach().clone())

    def forward(self, x: torch.Tensor,
                attention: torch.Tensor) -> torch.Tensor:
        k, g = self.num_kernels, self.groups
        per_kernel = F.conv2d(
            x,
            self.bank,
            None,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=g)
        h_out, w_out = per_kernel.shape[-2:]
        per_kernel = per_kernel.reshape(-1, g, k, self.out_channels // g,
                                        h_out, w_out)
        out = (per_kernel * attention.reshape(-1, 1, k, 1, 1, 1)).sum(2)
        out = out.reshape(-1, self.out_channels, h_out, w_out)
        if self.bias_bank is not None:
            out = out + torch.mm(attention, self.bias_bank)[:, :, None, None]
        if self.shift is not None:
            out = out + self.shift.view(1, -1, 1, 1)
        return out


def replace_kernel_aggregation(model: nn.Module) -> int:
    """Swap every ``KernelAggregation`` (BN-folded or not) in ``model`` for
    an equal :class:`KernelBankConv`, in place; returns how many were
    swapped."""
    replaced = 0
    for parent in list(model.modules()):
        if isinstance(parent, FoldedKernelAggregation):
            continue  # replaced with the module it wraps
        for name, child in list(parent._modules.items()):
            if isinstance(child, (KernelAggregation, FoldedKernelAggregation)):
                parent._modules[name] = KernelBankConv(child)
                replaced += 1
    return replaced
