"""Grouped convolutions with one output per group exported as a depthwise
conv and a 1x1 conv that sums each group.

EDite-HRNet's GhostModuleV2 primary convs (Enhanced ConvBN, Rui et al.,
IEEE Access, Sec. III-D) are grouped convs with two inputs per group (e.g.
20 -> 10 channels, 10 groups, 3x3). ONNX Runtime and OpenVINO run such
convs far below their depthwise and dense speed (OpenVINO: ~185 us for the
0.55 M multiply-adds of the 64x48 one, ~3 GMAC/s); the same function as a
depthwise conv over the C_in inputs and a 1x1 conv with 0/1 weights that
adds each group's r outputs,

    y_j = sum_{i < r} (W[j, i] * x_{j r + i}) + b_j,

runs at their depthwise and dense-conv speeds, without the 5-D reshape of
:class:`~elhrnet_mm.deploy.grouped_conv_as_depthwise.GroupedConvAsDepthwise`
(docs/speed.md). Exact for finite inputs (the 0 weights add zeros).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..grouped_conv_as_depthwise import GroupedConvAsDepthwise

#: Largest groups-per-kernel-element ratio ``G / (kh * kw)`` rewritten: the
#: 1x1 sum costs ``G * C_in`` multiply-adds per pixel, the depthwise conv
#: ``C_in * kh * kw``; larger groups counts stay native grouped convs.
MAX_GROUPS_PER_TAP = 4


class DepthwiseGroupSumConv(nn.Module):
    """:class:`GroupedConvAsDepthwise` whose exported graph is
    ``conv1x1(depthwise(x), S, b)``, ``S`` the (G, C_in, 1, 1) 0/1 matrix
    of the groups; in eager PyTorch the wrapped module runs unchanged (its
    depthwise conv and 5-D sum are faster there).

    Args:
        module (GroupedConvAsDepthwise): the form to wrap, with
            ``groups <= MAX_GROUPS_PER_TAP * kh * kw``
            (:meth:`applies_to`).

    Shapes:
        input (N, C_in, H, W) -> output (N, G, H_out, W_out).
    """

    def __init__(self, module: GroupedConvAsDepthwise):
        super().__init__()
        if not isinstance(module, GroupedConvAsDepthwise):
            raise TypeError('DepthwiseGroupSumConv rewrites a '
                            'GroupedConvAsDepthwise, got '
                            f'{type(module).__name__}')
        if not self.applies_to(module):
            raise ValueError(
                f'DepthwiseGroupSumConv needs groups <= {MAX_GROUPS_PER_TAP}'
                f' * kernel taps, got groups={module.groups} with a '
                f'{tuple(module.weight.shape[2:])} kernel')
        self.depthwise = module
        in_channels = module.weight.shape[0]
        group_sum = torch.eye(module.groups).to(module.weight)
        self.register_buffer(
            'group_sum',
            group_sum.repeat_interleave(in_channels // module.groups,
                                        dim=1).view(module.groups,
                                                    in_channels, 1, 1))

    @staticmethod
    def applies_to(module: GroupedConvAsDepthwise) -> bool:
        """Whether the 1x1 sum is small beside the depthwise conv
        (``groups <= MAX_GROUPS_PER_TAP * kh * kw``)."""
        kh, kw = module.weight.shape[2:]
        return module.groups <= MAX_GROUPS_PER_TAP * kh * kw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.depthwise
        if not torch.jit.is_tracing():
            return m(x)
        y = F.conv2d(x, m.weight, None, m.stride, m.padding, m.dilation,
                     m.weight.shape[0])
        return F.conv2d(y, self.group_sum, m.bias)
