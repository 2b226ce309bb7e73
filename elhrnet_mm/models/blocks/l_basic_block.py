"""L-Basicblock and LA-Basicblock of EL-HRNet.

Li et al., "Human Pose Estimation Based on Efficient and Lightweight
High-Resolution Network (EL-HRNet)", Sensors 2024, 24, 396, Sec. 2.2-2.3,
Eq. 8-10, Fig. 3.
"""
import copy
from typing import Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from ..utils.bn_folding import fold_bn_into
from .cbam import CBAM
from .nconv import NConv3x3


@MODELS.register_module()
class LBasicBlock(BaseModule):
    """HRNet's BasicBlock with both 3x3 convs replaced by :class:`NConv3x3`.

    Eq. 8-9: ``Y1 = BN(NConv(ReLU(BN(NConv(X)))))``, ``Y = ReLU(Y1 + X)``
    (``X`` through ``downsample`` when given). The constructor takes the same
    leading arguments as MMPose's ``BasicBlock`` so HRNet's modules can build
    it. Layer names (``nconv1``, ``nconv1_norm``, ``nconv2``, ``nconv2_norm``)
    differ from ``BasicBlock``'s on purpose: an HRNet checkpoint must not load
    its 3x3-conv BN statistics into norms that see different features.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out (``expansion`` is 1).
        stride (int): must be 1; HRNet's transitions do all downsampling.
        downsample (nn.Module, optional): projection of the identity.
        with_cp (bool): use gradient checkpointing. Default: False.
        norm_cfg (dict): norm after each NConv3x3. Default: BN.
        conv_cfg (dict, optional): conv layer config. Default: None.
        act_cfg (dict): activation (ReLU in the paper). Default: ReLU.
        groups (int, optional): groups of NConv3x3's 3x3 conv; None is
            depthwise, the paper's count. Default: None.
        nconv_norm_cfg (dict, optional): norm inside NConv3x3, after its 1x1
            conv. Default: None (the paper's Eq. 8).
        nconv_act_cfg (dict, optional): activation inside NConv3x3.
            Default: None.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, H, W).
    """

    expansion = 1

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 downsample: Optional[nn.Module] = None,
                 with_cp: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 conv_cfg: Optional[dict] = None,
                 act_cfg: dict = dict(type='ReLU'),
                 groups: Optional[int] = None,
                 nconv_norm_cfg: Optional[dict] = None,
                 nconv_act_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if stride != 1:
            raise ValueError(f'{type(self).__name__} stride must be 1, got '
                             f'{stride}; downsampling belongs to the '
                             'transition layers')
        if downsample is None and in_channels != out_channels:
            raise ValueError(
                f'{type(self).__name__} needs a downsample module when '
                f'in_channels ({in_channels}) != out_channels '
                f'({out_channels})')
        self.with_cp = with_cp
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.conv_cfg = conv_cfg
        nconv = dict(
            groups=groups,
            conv_cfg=conv_cfg,
            norm_cfg=nconv_norm_cfg,
            act_cfg=nconv_act_cfg)
        self.nconv1 = NConv3x3(in_channels, out_channels, **nconv)
        self.nconv1_norm = build_norm_layer(
            copy.deepcopy(norm_cfg), out_channels)[1]
        self.nconv2 = NConv3x3(out_channels, out_channels, **nconv)
        self.nconv2_norm = build_norm_layer(
            copy.deepcopy(norm_cfg), out_channels)[1]
        self.act = build_activation_layer(copy.deepcopy(act_cfg))
        self.downsample = downsample

    def attend(self, y1: torch.Tensor) -> torch.Tensor:
        """Attention applied to ``Y1`` before the residual sum (none here)."""
        return y1

    def switch_to_deploy(self) -> None:
        """Fold each eval-mode BN into the NConv3x3 before it: the NConv3x3
        becomes the :class:`~.FoldedNConv3x3` its
        :meth:`~.NConv3x3.fold_affine` returns, the BN an ``nn.Identity``
        (children replaced; ``self`` stays)."""
        for name in ('nconv1', 'nconv2'):
            norm = name + '_norm'
            folded = fold_bn_into(getattr(self, name), getattr(self, norm))
            if folded is not None:
                setattr(self, name, folded)
                setattr(self, norm, nn.Identity())

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.nconv1_norm(self.nconv1(x)))
        out = self.nconv2_norm(self.nconv2(out))
        return self.attend(out) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.act(out)


@MODELS.register_module()
class LABasicBlock(LBasicBlock):
    """L-Basicblock with CBAM on ``Y1``: ``Y = ReLU(SA(CA(Y1)) + X)`` (Eq. 10).

    Args:
        reduction_ratio (int): CBAM's channel-MLP reduction. Default: 16.
        spatial_kernel_size (int): CBAM's spatial conv kernel. Default: 7.
        Other arguments as :class:`LBasicBlock`; ``norm_cfg``, ``act_cfg``
        and ``conv_cfg`` are passed on to the CBAM.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 *args,
                 reduction_ratio: int = 16,
                 spatial_kernel_size: int = 7,
                 **kwargs):
        super().__init__(in_channels, out_channels, *args, **kwargs)
        self.cbam = CBAM(
            out_channels,
            reduction_ratio=reduction_ratio,
            spatial_kernel_size=spatial_kernel_size,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            conv_cfg=self.conv_cfg)

    def attend(self, y1: torch.Tensor) -> torch.Tensor:
        return self.cbam(y1)
