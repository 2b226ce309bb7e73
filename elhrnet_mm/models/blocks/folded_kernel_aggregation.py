"""Dynamic Kernel Aggregation with a following per-channel affine map (an
eval-mode BN) folded in: the deploy form that :meth:`KernelAggregation.
fold_affine <elhrnet_mm.models.blocks.dynamic_kernel_conv.KernelAggregation.
fold_affine>` returns.

Li et al., "Dite-HRNet", IJCAI 2022, Sec. 3.2: ``y = (sum_k a_k W_k) * x``,
followed by the BN of a Dite-HRNet ConvBN.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn


class FoldedKernelAggregation(nn.Module):
    """``scale * KernelAggregation(x, a) + shift`` per output channel.

    The scale goes into the wrapped module's kernel bank (``scale * sum_k
    a_k W_k = sum_k a_k (scale W_k)``, :meth:`~elhrnet_mm.models.blocks.
    dynamic_kernel_conv.KernelAggregation.scale_bank`); the shift does not
    depend on the attention (the weights are sigmoids, not a softmax, so it
    cannot join the bias bank) and is added to every sample's mixed bias.
    The wrapped module is consumed (its bank is rewritten).

    Args:
        aggregation (KernelAggregation): the module whose output is mapped.

    Shapes:
        input (N, C_in, H, W) and attention (N, K) -> output
        (N, C_out, H_out, W_out), as the wrapped module; :attr:`shift`
        (C_out, ).
    """

    def __init__(self, aggregation: nn.Module):
        super().__init__()
        self.aggregation = aggregation
        self.register_buffer(
            'shift', aggregation.weight.new_zeros(aggregation.out_channels))

    @torch.no_grad()
    def fold_affine(self, scale: torch.Tensor,
                    shift: torch.Tensor) -> 'FoldedKernelAggregation':
        """Compose another per-channel ``scale * y + shift`` (shape (C_out, )
        each) after this module's output, in place; returns ``self``."""
        self.aggregation.scale_bank(scale)
        self.shift = self.shift * scale + shift
        return self

    def forward(self, x: torch.Tensor,
                attention: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        shift = self.shift if n == 1 else self.shift.repeat(n)
        bias = self.aggregation.mixed_bias(attention)
        return self.aggregation.convolve(
            x, attention, shift if bias is None else bias + shift)


def aggregation_and_shift(
        module: nn.Module) -> Tuple[nn.Module, Optional[torch.Tensor]]:
    """The ``KernelAggregation`` that mixes ``module``'s kernels and the
    shift added after it: ``(module, None)`` for a ``KernelAggregation``,
    ``(its aggregation, shift)`` for a :class:`FoldedKernelAggregation`
    (what the export forms of DKA are built from)."""
    if isinstance(module, FoldedKernelAggregation):
        return module.aggregation, module.shift
    return module, None
