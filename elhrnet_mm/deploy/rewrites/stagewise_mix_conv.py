"""EDite-HRNet's depthwise Mix as one depthwise conv per stage, for graph
runtimes.

:class:`~elhrnet_mm.models.blocks.folded_mix_conv.FoldedMixConv` (B_mix of
Eq. 5-6 in Rui et al., "EDite-HRNet", IEEE Access, BN folded) concatenates
the S stage outputs, runs one depthwise conv over the S * C channels and
sums the stages through a 5-D view. In an exported graph that view makes
OpenVINO convert the S * C map out of its blocked layout (a ``Reorder``
of ~1.3 ms per full-resolution block, docs/speed.md). The same sum as S
depthwise convs on the stage outputs themselves,

    y = sum_s (W_s * x_s) + sum_s b_s,

has no concatenation and no reshape; the runtimes fuse each add into the
next conv.
"""
from typing import Sequence

import torch
import torch.nn as nn

from ...models.blocks.folded_mix_conv import FoldedMixConv


class StagewiseMixConv(nn.Module):
    """:class:`FoldedMixConv` whose exported graph is S depthwise convs
    (``Conv``) and S - 1 ``Add``: in eager PyTorch the wrapped module runs
    unchanged (its one concatenated conv is the faster form there), under
    tracing ``stage_convs[0](x_1) + stage_convs[1](x_2) + ...``, convs
    built from the wrapped module's :meth:`~FoldedMixConv.stage_kernels`
    (the first one with the summed bias).

    Args:
        folded (FoldedMixConv): the deploy form to wrap.

    Shapes:
        stages: S maps (N, C, H, W) -> output (N, C, H, W).
    """

    def __init__(self, folded: FoldedMixConv):
        super().__init__()
        if not isinstance(folded, FoldedMixConv):
            raise TypeError('StagewiseMixConv wraps a FoldedMixConv, got '
                            f'{type(folded).__name__}')
        self.folded = folded
        conv = folded.conv
        weights, bias = folded.stage_kernels()
        stage_convs = []
        for s, weight in enumerate(weights):
            c = weight.shape[0]
            stage = nn.Conv2d(
                c,
                c,
                tuple(weight.shape[2:]),
                stride=conv.stride,
                padding=conv.padding,
                dilation=conv.dilation,
                groups=c,
                bias=s == 0).to(weight)
            with torch.no_grad():
                stage.weight.copy_(weight)
                if s == 0:
                    stage.bias.copy_(bias)
            stage_convs.append(stage)
        self.stage_convs = nn.ModuleList(stage_convs)

    def forward(self, stages: Sequence[torch.Tensor]) -> torch.Tensor:
        if not torch.jit.is_tracing():
            return self.folded(stages)
        if len(stages) != len(self.stage_convs):
            raise ValueError(
                f'StagewiseMixConv takes {len(self.stage_convs)} stage '
                f'maps, got {len(stages)}')
        y = self.stage_convs[0](stages[0])
        for conv, x in zip(self.stage_convs[1:], stages[1:]):
            y = y + conv(x)
        return y
