"""Dynamic Global Context (DGC) block of Dite-HRNet.

Li et al., "Dite-HRNet: Dynamic Lightweight High-Resolution Network for Human
Pose Estimation", IJCAI 2022, Sec. 3.4, Fig. 3b. Dite-HRNet uses it once,
with stride 2, as the second half of its stem.
"""
from collections import OrderedDict
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from .build import build_block
from .dynamic_split_conv import ConcatShuffle
from .global_context_modeling import GlobalContextModeling

#: The six ConvBN positions of the block, ``branch.layer``.
LAYERS = ('branch1.dw', 'branch1.pw', 'branch2.dw', 'branch2.reduce',
          'branch2.expand', 'branch2.down')


@MODELS.register_module()
class DGCBlock(BaseModule):
    """Two-branch shuffle block with DKA convs and GCM.

    The input's channel halves x1 and x2 (C/2 each) go through

    * branch1 (x1): ``dw`` DKA depthwise 3x3 with ``stride`` + BN, GCM,
      ``pw`` DKA 1x1 + BN + ReLU;
    * branch2 (x2): ``dw`` DKA depthwise 3x3 + BN, GCM, ``reduce`` DKA 1x1
      ``C/2 -> C/2 / bottleneck_ratio`` + BN + ReLU, ``expand`` DKA 1x1 back
      + BN, ``down`` DKA depthwise 3x3 with ``stride`` + BN + ReLU;

    then concat (branch1, branch2) and channel shuffle (2 groups). Each
    position is a Dite-HRNet ConvBN (:class:`~.DynamicKernelConv` with
    ``num_kernels`` kernels, or static for 1) unless ``conv_bn_cfgs``
    gives it another layer type (EDite-HRNet's EDGC block,
    :class:`~.EDGCBlock`, makes two of them Enhanced ConvBN).

    Args:
        channels (int): C, input and output channels (even).
        stride (int): 1 or 2. Default: 2.
        num_kernels (int): K of every DKA. Default: 4.
        reduction (int): DKA attention reduction. Default: 4.
        gcm_reduction (int): GCM's MLP reduction. Default: 4.
        bottleneck_ratio (int): branch2's 1x1 bottleneck. Default: 4.
        conv_bn_cfgs (dict[str, dict], optional): the layer at positions of
            :data:`LAYERS` (``{'branch1.dw': dict(type='EnhancedConvBN')}``),
            a registered type taking :class:`~.DynamicConvModule`'s
            arguments (which the block sets); positions not given are
            ``dict(type='ConvBN')``. Default: None (Dite-HRNet).
        conv_cfg (dict, optional): conv layer config. Default: None.
        norm_cfg (dict, optional): norm config. Default: BN.
        act_cfg (dict): activation. Default: ReLU.
        with_cp (bool): gradient checkpointing. Default: False.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input (N, C, H, W) -> output (N, C, H / stride, W / stride).
    """

    def __init__(self,
                 channels: int,
                 stride: int = 2,
                 num_kernels: int = 4,
                 reduction: int = 4,
                 gcm_reduction: int = 4,
                 bottleneck_ratio: int = 4,
                 conv_bn_cfgs: Optional[Dict[str, dict]] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if channels < 2 or channels % 2:
            raise ValueError(f'{name} channels must be even, got {channels}')
        if stride not in (1, 2):
            raise ValueError(f'{name} stride={stride!r}; allowed: 1, 2')
        half = channels // 2
        if (not isinstance(bottleneck_ratio, int) or bottleneck_ratio < 1
                or half // bottleneck_ratio < 1):
            raise ValueError(
                f'{name} bottleneck_ratio={bottleneck_ratio!r}; allowed: an '
                f'int in [1, {half}]')
        conv_bn_cfgs = dict(conv_bn_cfgs or {})
        unknown = sorted(set(conv_bn_cfgs) - set(LAYERS))
        if unknown:
            raise ValueError(f'{name} conv_bn_cfgs has unknown positions '
                             f'{unknown}; allowed: {LAYERS}')
        self.with_cp = with_cp
        mid = half // bottleneck_ratio

        def layer(position, cin, cout, kernel_size, layer_stride, act):
            return build_block(
                conv_bn_cfgs.get(position, dict(type='ConvBN')),
                f"{name} conv_bn_cfgs['{position}']",
                in_channels=cin,
                out_channels=cout,
                kernel_size=kernel_size,
                stride=layer_stride,
                groups=cin if kernel_size > 1 else 1,
                num_kernels=num_kernels,
                reduction=reduction,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg if act else None)

        def gcm():
            return GlobalContextModeling(
                half,
                gcm_reduction,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg)

        self.branch1 = nn.Sequential(
            OrderedDict(
                dw=layer('branch1.dw', half, half, 3, stride, False),
                gcm=gcm(),
                pw=layer('branch1.pw', half, half, 1, 1, True)))
        self.branch2 = nn.Sequential(
            OrderedDict(
                dw=layer('branch2.dw', half, half, 3, 1, False),
                gcm=gcm(),
                reduce=layer('branch2.reduce', half, mid, 1, 1, True),
                expand=layer('branch2.expand', mid, half, 1, 1, False),
                down=layer('branch2.down', half, half, 3, stride, True)))
        self.shuffle = ConcatShuffle()

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return self.shuffle(self.branch1(x1), self.branch2(x2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
