"""EDite-HRNet's depthwise Mix with its BN folded: the deploy form that
:meth:`MixConv.switch_to_deploy
<elhrnet_mm.models.blocks.edmc_block.MixConv.switch_to_deploy>` returns.

Rui et al., "EDite-HRNet", IEEE Access, Eq. 5-6: ``Y1' = C(Y1) +
B_mix([Y2^1, Y2^2, Y2^3])``.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn


def depthwise_stage_sum(conv: nn.Conv2d,
                        stages: Sequence[torch.Tensor]) -> torch.Tensor:
    """``sum_s conv(concat(stages))_s``: a depthwise conv over the S
    concatenated (N, C, H, W) stage outputs, summed over the stages; (N, C,
    H, W)."""
    y = conv(torch.cat(list(stages), dim=1))
    n, _, h, w = y.shape
    return y.view(n, len(stages), -1, h, w).sum(dim=1)


class FoldedMixConv(nn.Module):
    """``y_j = sum_s (W_{s,j} * x_{s,j} + b_{s,j})``: the depthwise B_mix
    with its BN folded into the kernels and biases, computed as in
    training (:func:`depthwise_stage_sum`), which is PyTorch's fastest
    form.

    :meth:`stage_kernels` gives the same function per stage, for forms
    that avoid the concatenation and the 5-D sum (e.g. the graph-runtime
    rewrite ``StagewiseMixConv`` of :mod:`elhrnet_mm.deploy.rewrites`).

    Args:
        conv (nn.Conv2d): depthwise ``S * C -> S * C`` conv with a bias,
            stage-major channels (used as it is, not copied).
        num_stages (int): S.

    Shapes:
        stages: S maps (N, C, H, W) -> output (N, C, H, W).
    """

    def __init__(self, conv: nn.Conv2d, num_stages: int):
        super().__init__()
        channels = conv.in_channels
        if (conv.groups != channels or conv.out_channels != channels
                or channels % num_stages or conv.bias is None):
            raise ValueError(
                'FoldedMixConv conv must be a depthwise conv with a bias '
                f'over num_stages={num_stages} stages, got {conv}')
        self.conv = conv
        self.num_stages = num_stages

    def stage_kernels(self) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """Per stage the (C, 1, kh, kw) kernel, and the (C, ) bias of the
        whole sum (the stages' biases added)."""
        weights = list(self.conv.weight.chunk(self.num_stages))
        bias = self.conv.bias.view(self.num_stages, -1).sum(dim=0)
        return weights, bias

    def forward(self, stages: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(stages) != self.num_stages:
            raise ValueError(f'FoldedMixConv takes {self.num_stages} stage '
                             f'maps, got {len(stages)}')
        return depthwise_stage_sum(self.conv, stages)
