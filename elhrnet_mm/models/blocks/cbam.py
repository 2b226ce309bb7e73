"""Convolutional Block Attention Module (CBAM).

Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018; used by
EL-HRNet (Li et al., Sensors 2024, 24, 396, Sec. 2.3.1, Eq. 5-7) inside the
LA-Basicblock and by CBAM-LiteHRNet.
"""
import copy
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS


@MODELS.register_module()
class CBAM(BaseModule):
    """Channel gate followed by spatial gate: ``F' = F_s * (F_c * F)``.

    Channel gate (Eq. 5): one MLP (1x1 conv ``C -> C // r`` with bias,
    ``act_cfg``, 1x1 conv ``C // r -> C`` with bias) is shared by the
    average- and max-pooled descriptors; their outputs are summed and passed
    through a sigmoid, giving ``F_c`` of shape (N, C, 1, 1).

    Spatial gate (Eq. 6): channel-wise max and mean of ``F_c * F`` are
    concatenated (N, 2, H, W) and a ``k x k`` conv (``norm_cfg``, no
    activation; the reference implementation uses BN) plus sigmoid gives
    ``F_s`` of shape (N, 1, H, W).

    Args:
        channels (int): C, channels of the input and output.
        reduction_ratio (int): r, the MLP's hidden width is ``C // r``.
            Default: 16.
        spatial_kernel_size (int): k of the spatial gate's conv (odd).
            Default: 7.
        norm_cfg (dict, optional): norm after the spatial conv; ``None`` for
            a plain conv with bias. Default: ``dict(type='BN')``.
        act_cfg (dict): activation of the MLP's hidden layer.
            Default: ``dict(type='ReLU')``.
        conv_cfg (dict, optional): conv layer config. Default: None.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W).
    """

    def __init__(self,
                 channels: int,
                 reduction_ratio: int = 16,
                 spatial_kernel_size: int = 7,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 conv_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(reduction_ratio, int) or reduction_ratio < 1:
            raise ValueError('CBAM reduction_ratio must be a positive int, '
                             f'got {reduction_ratio!r}')
        if channels // reduction_ratio < 1:
            raise ValueError(
                f'CBAM channels ({channels}) // reduction_ratio '
                f'({reduction_ratio}) is 0; allowed: reduction_ratio <= '
                f'channels')
        if spatial_kernel_size < 1 or spatial_kernel_size % 2 == 0:
            raise ValueError('CBAM spatial_kernel_size must be a positive odd '
                             f'int, got {spatial_kernel_size!r}')
        hidden = channels // reduction_ratio
        self.channel_mlp = nn.Sequential(
            ConvModule(
                channels,
                hidden,
                1,
                bias=True,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=copy.deepcopy(act_cfg)),
            ConvModule(
                hidden,
                channels,
                1,
                bias=True,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=None))
        self.spatial_conv = ConvModule(
            2,
            1,
            spatial_kernel_size,
            padding=spatial_kernel_size // 2,
            conv_cfg=conv_cfg,
            norm_cfg=copy.deepcopy(norm_cfg),
            act_cfg=None)

    def channel_attention(self, x: torch.Tensor) -> torch.Tensor:
        """``F_c`` of Eq. 5, shape (N, C, 1, 1)."""
        avg = self.channel_mlp(x.mean(dim=(2, 3), keepdim=True))
        mx = self.channel_mlp(x.amax(dim=(2, 3), keepdim=True))
        return torch.sigmoid(avg + mx)

    def spatial_attention(self, x: torch.Tensor) -> torch.Tensor:
        """``F_s`` of Eq. 6, shape (N, 1, H, W)."""
        pooled = torch.cat(
            [x.amax(dim=1, keepdim=True),
             x.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.spatial_conv(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel_attention(x)
        return x * self.spatial_attention(x)
