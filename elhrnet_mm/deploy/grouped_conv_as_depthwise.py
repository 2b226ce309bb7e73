"""Deploy form of a grouped convolution with one output per group: a
depthwise convolution and a sum (PyTorch's CPU path for such grouped
convolutions is about twice as slow as its depthwise path, docs/speed.md).
Only :func:`~elhrnet_mm.deploy.fuse_for_inference` uses it."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class GroupedConvAsDepthwise(nn.Module):
    """``conv2d(x, W, b, groups=G)`` with ``C_out = G`` (output channel j
    reads the r = C_in / G input channels ``j*r .. j*r + r - 1``), computed as
    a depthwise conv of the C_in channels with the kernels ``W[j, i]`` and
    the sum over each group's r outputs: ``y_j = sum_i (W[j, i] * x_{j*r +
    i}) + b_j``, the same sum in another order. Built from the conv;
    :func:`~elhrnet_mm.deploy.fuse_for_inference` puts it in place of such
    convs (the 2-to-1 grouped primary convs of EDite-HRNet's GhostModuleV2).

    Shapes:
        input (N, C_in, H, W) -> output (N, G, H_out, W_out), as the conv.
    """

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if not self.applies_to(conv):
            raise ValueError('GroupedConvAsDepthwise needs a grouped conv '
                             'with 1 < groups < in_channels and one output '
                             f'per group, got {conv}')
        self.groups = conv.groups
        self.weight = nn.Parameter(conv.weight.detach().reshape(
            conv.in_channels, 1, *conv.kernel_size))
        self.bias: Optional[nn.Parameter] = (
            None if conv.bias is None else nn.Parameter(conv.bias.detach()))
        self.stride = conv.stride
        self.padding = conv.padding
        self.dilation = conv.dilation

    @staticmethod
    def applies_to(conv: nn.Module) -> bool:
        """A plain zero-padded ``nn.Conv2d`` with one output per group and
        more than one input per group."""
        return (type(conv) is nn.Conv2d and conv.padding_mode == 'zeros'
                and not isinstance(conv.padding, str)
                and 1 < conv.groups < conv.in_channels
                and conv.out_channels == conv.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(
            x,
            self.weight,
            None,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=x.shape[1])
        n, c, h, w = y.shape
        y = y.view(n, self.groups, c // self.groups, h, w).sum(dim=2)
        if self.bias is not None:
            y = y + self.bias.view(1, -1, 1, 1)
        return y
