"""GhostNetV2's Ghost module with DFC attention.

Tang et al., "GhostNetV2: Enhance Cheap Operation with Long-Range
Attention", NeurIPS 2022 (arXiv:2211.12905), Sec. 4 (Eq. 6-9, Fig. 4); used
by Rui et al., "EDite-HRNet", IEEE Access (Sec. III-D, Eq. 7-8, Fig. 5).
"""
import copy
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from .dynamic_kernel_conv import DynamicConvModule
from .folded_ghost_module_v2 import FoldedGhostModuleV2
from .nearest_upsample import nearest_upsample


@MODELS.register_module()
class GhostModuleV2(BaseModule):
    """Ghost module whose output is gated by decoupled fully connected (DFC)
    attention: ``O = sigmoid(A(x)) * Ghost(x)`` (Eq. 8).

    * Ghost part: a primary conv ``C_in -> m = ceil(C_out / ratio)``
      (``kernel_size``, ``stride``, ``primary_groups``; a
      :class:`~.DynamicKernelConv` when ``num_kernels > 1``) with norm and
      activation, then a cheap depthwise ``dw_size`` conv ``m -> m *
      (ratio - 1)`` with norm and activation; concat, first C_out channels.
    * DFC part (Eq. 7, on the module input): 2x2 average pooling, conv
      ``C_in -> C_out`` (``kernel_size``, ``stride``, ``dfc_groups``) + norm,
      depthwise (1, 5) conv + norm (horizontal FC), depthwise (5, 1) conv +
      norm (vertical FC), sigmoid, nearest upsampling to the output size.

    With the defaults (``kernel_size=1``, groups 1) this is GhostNetV2's
    ``GhostModuleV2(mode='attn')``: primary 1x1, cheap depthwise 3x3, DFC
    branch with a 1x1 conv.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        kernel_size (int): kernel of the primary and DFC convs. Default: 1.
        stride (int): stride of the primary and DFC convs. Default: 1.
        ratio (int): output / intrinsic channels. Default: 2.
        dw_size (int): kernel of the cheap depthwise conv. Default: 3.
        primary_groups (int): groups of the primary conv. Default: 1.
        dfc_groups (int): groups of the DFC branch's first conv. Default: 1.
        num_kernels (int): K > 1 makes the primary conv dynamic (DKA).
            Default: 1.
        reduction (int): DKA attention reduction. Default: 4.
        attention (bool): use the DFC branch ('attn' mode); False is
            GhostNetV2's 'original' mode (a GhostNet V1 module).
            Default: True.
        conv_cfg (dict, optional): conv layer config. Default: None.
        norm_cfg (dict, optional): norm config. Default: BN.
        act_cfg (dict, optional): activation of the primary and cheap convs;
            None for a linear module (GhostNetV2's ``relu=False``).
            Default: ReLU.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input (N, C_in, H, W), H and W >= 2 -> output
        (N, C_out, H / stride, W / stride).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 1,
                 stride: int = 1,
                 ratio: int = 2,
                 dw_size: int = 3,
                 primary_groups: int = 1,
                 dfc_groups: int = 1,
                 num_kernels: int = 1,
                 reduction: int = 4,
                 attention: bool = True,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(ratio, int) or ratio < 2:
            raise ValueError(f'GhostModuleV2 ratio={ratio!r}; allowed: an '
                             'int >= 2')
        intrinsic = math.ceil(out_channels / ratio)
        for name, groups, cin, cout in (('primary_groups', primary_groups,
                                         in_channels, intrinsic),
                                        ('dfc_groups', dfc_groups,
                                         in_channels, out_channels)):
            if groups < 1 or cin % groups or cout % groups:
                raise ValueError(
                    f'GhostModuleV2 {name}={groups} must divide its conv\'s '
                    f'input ({cin}) and output ({cout}) channels')
        self.out_channels = out_channels
        self.primary = DynamicConvModule(
            in_channels,
            intrinsic,
            kernel_size,
            stride=stride,
            groups=primary_groups,
            num_kernels=num_kernels,
            reduction=reduction,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.cheap = ConvModule(
            intrinsic,
            intrinsic * (ratio - 1),
            dw_size,
            padding=dw_size // 2,
            groups=intrinsic,
            conv_cfg=conv_cfg,
            norm_cfg=copy.deepcopy(norm_cfg),
            act_cfg=copy.deepcopy(act_cfg))
        self.dfc = None
        if attention:
            common = dict(
                conv_cfg=conv_cfg,
                norm_cfg=copy.deepcopy(norm_cfg),
                act_cfg=None)
            self.dfc = nn.Sequential(
                ConvModule(
                    in_channels,
                    out_channels,
                    kernel_size,
                    stride=stride,
                    padding=kernel_size // 2,
                    groups=dfc_groups,
                    **common),
                ConvModule(
                    out_channels,
                    out_channels, (1, 5),
                    padding=(0, 2),
                    groups=out_channels,
                    **common),
                ConvModule(
                    out_channels,
                    out_channels, (5, 1),
                    padding=(2, 0),
                    groups=out_channels,
                    **common))
    def fold_affine(self, scale: torch.Tensor,
                    shift: torch.Tensor) -> FoldedGhostModuleV2:
        """The module computing ``scale * O + shift`` per channel (a
        following eval-mode BN, as in :class:`~.EnhancedConvBN`): a
        :class:`~.FoldedGhostModuleV2` wrapping this module."""
        return FoldedGhostModuleV2(self).fold_affine(scale, shift)

    def ghost_features(self, x: torch.Tensor) -> torch.Tensor:
        """The Ghost part: ``concat(Y', cheap(Y'))[:, :C_out]`` with
        ``Y' = primary(x)``, shape (N, C_out, H / stride, W / stride)."""
        intrinsic = self.primary(x)
        return torch.cat([intrinsic, self.cheap(intrinsic)],
                         dim=1)[:, :self.out_channels]

    def dfc_gate(self, x: torch.Tensor) -> torch.Tensor:
        """``sigmoid(A(x))`` of Eq. 7-8 at the DFC branch's resolution,
        shape (N, C_out, H / (2 stride), W / (2 stride)), before the nearest
        upsampling to the output size."""
        return torch.sigmoid(
            self.dfc(F.avg_pool2d(x, kernel_size=2, stride=2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.ghost_features(x)
        if self.dfc is None:
            return out
        return out * nearest_upsample(self.dfc_gate(x), out.shape[-2:])
