"""Enhanced Dynamic Multi-scale Context (EDMC) block of EDite-HRNet.

Rui et al., "EDite-HRNet: Enhanced Dynamic Lightweight High-Resolution
Network for Human Pose Estimation", IEEE Access, Sec. III-C (Eq. 2-6,
Fig. 2 and 3), after the G-Ghost stage with mix of Han et al. (IJCV 2022).
"""
import copy
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_conv_layer, build_norm_layer
from mmpose.registry import MODELS

from ..utils.bn_folding import (bn_scale_shift, fold_affine, fold_bn_into,
                                is_eval_bn)
from .dmc_block import DMCBlock, Stages
from .folded_mix_conv import FoldedMixConv, depthwise_stage_sum

#: Which complex-branch features the Mix takes (see :class:`EDMCBlock`).
MIX_INPUTS = ('stages', 'input+stages')


class ChannelwiseConv1x1(nn.Conv2d):
    """Depthwise 1x1 conv without bias, i.e. a per-channel scale, computed as
    a broadcast multiply (PyTorch's CPU path for a depthwise 1x1 conv at
    batch 1 loops over the channels). A ``Conv2d`` for the counters and the
    weight initialisation.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W).
    """

    def __init__(self, channels: int):
        super().__init__(channels, channels, 1, groups=channels, bias=False)

    @torch.no_grad()
    def fold_affine(self, scale: torch.Tensor,
                    shift: torch.Tensor) -> 'ChannelwiseConv1x1':
        """Make the output ``scale * y + shift`` (a following eval BN), in
        place (weight and bias, as a plain conv); returns ``self``."""
        self.weight.mul_(scale.view(-1, 1, 1, 1))
        self.bias = nn.Parameter(shift.clone() if self.bias is None else
                                 self.bias * scale + shift)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return x * self.weight.view(1, -1, 1, 1)
        return torch.addcmul(
            self.bias.view(1, -1, 1, 1), x, self.weight.view(1, -1, 1, 1))


class MixConv(nn.Module):
    """B_mix: a 3x3 conv + norm from S stacked stage outputs (S * C channels,
    stage-major) to C channels.

    ``groups=None`` ("depth-wise"): output channel j mixes channel j of every
    stage, ``y_j = sum_s w_{j,s} * x_{s,j}``; computed as one depthwise conv
    over the S * C input channels and a sum over the stages, which is the
    grouped conv ``S*C -> C`` with C groups (same parameters, ``9 * S * C``,
    and the same count, ``9 * S * C * H * W`` multiply-adds) without
    PyTorch's slow CPU path for grouped convs. An int: a ``S*C -> C`` conv
    with that many groups over the stage-major concatenation (1: dense).

    Shapes:
        stages: S maps (N, C, H, W), concatenated stage-major -> output
        (N, C, H, W).
    """

    def __init__(self,
                 num_stages: int,
                 channels: int,
                 groups: Optional[int] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN')):
        super().__init__()
        self.num_stages = num_stages
        self.depthwise = groups is None
        in_channels = num_stages * channels
        self.conv = build_conv_layer(
            conv_cfg,
            in_channels,
            in_channels if self.depthwise else channels,
            3,
            padding=1,
            groups=in_channels if self.depthwise else groups,
            bias=False)
        self.norm = build_norm_layer(copy.deepcopy(norm_cfg), channels)[1]

    @torch.no_grad()
    def switch_to_deploy(self) -> Optional[FoldedMixConv]:
        """Fold the eval-mode BN into the conv. Grouped/dense: in place
        (the BN becomes an ``nn.Identity``; returns None). Depthwise:
        ``scale * sum_s y_s + shift = sum_s (scale * y_s) + shift``, so
        every stage's kernels are scaled and the shift is the first
        stage's bias; returns the :class:`~.FoldedMixConv` (None if the
        norm is not an eval BN)."""
        if not self.depthwise:
            conv = fold_bn_into(self.conv, self.norm)
            if conv is not None:
                self.conv, self.norm = conv, nn.Identity()
            return None
        if not is_eval_bn(self.norm) or self.conv.bias is not None:
            return None
        scale, shift = bn_scale_shift(self.norm)
        zeros = torch.zeros_like(shift).repeat(self.num_stages - 1)
        conv = fold_affine(self.conv, scale.repeat(self.num_stages),
                           torch.cat([shift, zeros]))
        return FoldedMixConv(conv, self.num_stages)

    def forward(self, stages: Sequence[torch.Tensor]) -> torch.Tensor:
        if self.depthwise:
            return self.norm(depthwise_stage_sum(self.conv, stages))
        return self.norm(self.conv(torch.cat(list(stages), dim=1)))


@MODELS.register_module()
class EDMCBlock(DMCBlock):
    """DMC block whose simple half is enhanced with the complex half's
    multi-level features.

    Per branch (Eq. 2-6): ``Y1, Y2 = split(X)``; the complex half keeps the
    outputs of its three stages ``Y2^1 = DCM(Y2)``, ``Y2^2 = DSC(Y2^1)``,
    ``Y2^3 = GCM(Y2^2)`` (Eq. 3-4); the simple half becomes

        ``Y1' = C(Y1) + B_mix([Y2^1, Y2^2, Y2^3])``   (Eq. 5-6)

    with the cheap operation C a 1x1 conv + BN (``cheap_groups``) and the
    Mix B_mix (:class:`MixConv`) a 3x3 conv + BN from the concatenated stage
    outputs to C_b/2 channels (``mix_groups``; G-Ghost's mix without its
    average pooling and with 3x3 instead of 1x1, as the paper says); then
    ``shuffle(concat(Y1', Y2^3))`` as in DMC.

    EDite-HRNet-S uses depthwise layers (``cheap_groups = mix_groups =
    None``: one group per output channel), EDite-HRNet-L a "normal" Mix
    (``mix_groups=1``); these readings reproduce the paper's FLOPs
    (docs/edite_hrnet.md). By default the DSC's layers are Enhanced ConvBN
    (the EDite-HRNet block); arguments not listed here are
    :class:`~.DMCBlock`'s.

    Args:
        in_channels (Sequence[int]): C_b per branch.
        cheap_groups (int, optional): groups of C; None is depthwise
            (:class:`ChannelwiseConv1x1`). Default: None.
        mix_groups (int, optional): groups of B_mix; None is one group per
            output channel. Default: None.
        mix_inputs (str): ``'stages'`` ([Y2^1, Y2^2, Y2^3], Eq. 4) or
            ``'input+stages'`` (also Y2 itself, as Fig. 3's caption and
            G-Ghost's mix). Default: 'stages'.
        conv_bn_cfg (dict): the DSC's layers (see :class:`~.DMCBlock`).
            Default: ``dict(type='EnhancedConvBN')``.

    Shapes:
        input: list of (N, C_b, H_b, W_b) -> output: list of the same
        shapes.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 *args,
                 cheap_groups: Optional[int] = None,
                 mix_groups: Optional[int] = None,
                 mix_inputs: str = 'stages',
                 conv_bn_cfg: dict = dict(type='EnhancedConvBN'),
                 **kwargs):
        super().__init__(
            in_channels, *args, conv_bn_cfg=conv_bn_cfg, **kwargs)
        if mix_inputs not in MIX_INPUTS:
            raise ValueError(f'EDMCBlock mix_inputs={mix_inputs!r}; '
                             f'allowed: {MIX_INPUTS}')
        # index of the first entry of ``Stages`` the Mix takes
        self.first_mix_input = 0 if mix_inputs == 'input+stages' else 1
        num_inputs = 4 - self.first_mix_input
        cheap, mix = [], []
        for b, c in enumerate(self.branch_channels):
            for field, groups in (('cheap_groups', cheap_groups),
                                  ('mix_groups', mix_groups)):
                if groups is not None and (groups < 1 or c % groups):
                    raise ValueError(
                        f'EDMCBlock {field}={groups!r} does not divide the '
                        f'{c} channels of branch {b}; allowed: a divisor '
                        'of every branch\'s C_b/2, or None (depthwise)')
            cheap.append(
                nn.Sequential(
                    ChannelwiseConv1x1(c),
                    build_norm_layer(copy.deepcopy(self.norm_cfg), c)[1])
                if cheap_groups is None else ConvModule(
                    c,
                    c,
                    1,
                    groups=cheap_groups,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=None))
            mix.append(
                MixConv(
                    num_inputs,
                    c,
                    groups=mix_groups,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg))
        self.cheap = nn.ModuleList(cheap)
        self.mix = nn.ModuleList(mix)

    def simple_branch(self, x: List[torch.Tensor],
                      stages: Stages) -> List[torch.Tensor]:
        """``Y1' = C(Y1) + B_mix([stage outputs])`` per branch."""
        return [
            self.cheap[b](y1) +
            self.mix[b]([s[b] for s in stages[self.first_mix_input:]])
            for b, y1 in enumerate(x)
        ]
