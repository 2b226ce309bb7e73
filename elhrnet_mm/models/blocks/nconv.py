"""NConv3x3: the lightweight 3x3 convolution of EL-HRNet.

Li et al., "Human Pose Estimation Based on Efficient and Lightweight
High-Resolution Network (EL-HRNet)", Sensors 2024, 24, 396, Sec. 2.2.1,
Fig. 2b and the parameter count of Sec. 2.2.2.
"""
import copy
from typing import Optional

import torch
from mmcv.cnn import ConvModule, build_conv_layer
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from .folded_nconv import FoldedNConv3x3


@MODELS.register_module()
class NConv3x3(BaseModule):
    """1x1 conv to ``C_out / 2``, a 3x3 grouped conv on those channels, concat.

    ``y = concat(p, g(p))`` with ``p = conv1x1(x)`` (``C_in -> C_out / 2``)
    and ``g`` a 3x3 conv with ``groups`` groups (``C_out / 2 -> C_out / 2``).
    Convolution parameters: ``C_in * C_out / 2 + 9 * (C_out / 2)^2 / groups``.
    The paper counts ``C^2 / 2 + 9C / 2`` per NConv3x3 (``C^2 + 9C`` per
    L-Basicblock, ``C_in = C_out = C``), i.e. ``groups = C / 2``: depthwise,
    the default here.

    The paper puts BN and ReLU outside NConv3x3 (Eq. 8), so by default there
    is no norm or activation between the 1x1 and the grouped conv; pass
    ``norm_cfg``/``act_cfg`` to add them after the 1x1 conv (the GhostNet
    reading, see docs/el_hrnet.md).

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out, must be even.
        groups (int, optional): groups of the 3x3 conv; must divide
            ``C_out / 2``. None: ``C_out / 2`` (depthwise). Default: None.
        conv_cfg (dict, optional): conv layer config. Default: None.
        norm_cfg (dict, optional): norm after the 1x1 conv. Default: None.
        act_cfg (dict, optional): activation after the 1x1 conv.
            Default: None.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 groups: Optional[int] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if out_channels < 2 or out_channels % 2:
            raise ValueError('NConv3x3 out_channels must be even (it is split '
                             f'in two halves), got {out_channels}')
        half = out_channels // 2
        if groups is None:
            groups = half
        if not isinstance(groups, int) or groups < 1 or half % groups:
            raise ValueError(
                f'NConv3x3 groups={groups!r} must divide out_channels / 2 = '
                f'{half}; allowed: a divisor of {half}, or None for '
                f'depthwise ({half})')
        self.groups = groups
        self.primary = ConvModule(
            in_channels,
            half,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=copy.deepcopy(norm_cfg),
            act_cfg=copy.deepcopy(act_cfg),
            bias=False)
        self.grouped = build_conv_layer(
            conv_cfg, half, half, 3, padding=1, groups=groups, bias=False)

    def fold_affine(self, scale: torch.Tensor,
                    shift: torch.Tensor) -> FoldedNConv3x3:
        """The module computing ``scale * y + shift`` per channel (the BN
        that follows NConv3x3 in an L-Basicblock): a
        :class:`~.FoldedNConv3x3` wrapping this module."""
        return FoldedNConv3x3(self).fold_affine(scale, shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.primary(x)
        return torch.cat([p, self.grouped(p)], dim=1)
