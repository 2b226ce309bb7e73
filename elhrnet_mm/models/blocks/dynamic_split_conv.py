"""Dynamic Split Convolution (DSC) of Dite-HRNet.

Li et al., "Dite-HRNet: Dynamic Lightweight High-Resolution Network for Human
Pose Estimation", IJCAI 2022, Sec. 3.2 (DSC, Eq. 3-4, Fig. 2a).
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from .build import build_block


def concat_shuffle(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """``channel_shuffle(torch.cat(parts, 1), len(parts))`` in one copy.

    For G parts of C channels each, output channel ``j * G + i`` is channel
    j of part i, which is what ShuffleNet's channel shuffle (MMPose's
    ``channel_shuffle``) gives for the concatenation.

    Shapes:
        G tensors (N, C, H, W) -> (N, G * C, H, W).
    """
    return torch.stack(parts, dim=2).flatten(1, 2)


class ConcatShuffle(nn.Module):
    """:func:`concat_shuffle` as a (parameter-free) module, so that a
    deploy rewrite can give the blocks' shuffles another graph form.

    Shapes:
        G tensors (N, C, H, W) -> (N, G * C, H, W).
    """

    def forward(self, *parts: torch.Tensor) -> torch.Tensor:
        return concat_shuffle(parts)


@MODELS.register_module()
class DynamicSplitConv(BaseModule):
    """DSC: depthwise convs of growing kernel size on channel splits.

    The channels are split into G equal parts; part i goes through a
    depthwise "ConvBN" (``conv_bn_cfg``) with kernel ``kernel_sizes[i]``
    (3, 5, 7, 9 by default) and 'same' padding, whose conv is a
    :class:`~.DynamicKernelConv` with K kernels when K > 1 (a static conv
    when K = 1), then norm, no activation. The parts are
    concatenated and, for G > 1, channel-shuffled with G groups. Dite-HRNet
    uses (G, K) = (1, 4), (1, 4), (2, 2), (4, 1) on branches 1-4.

    Args:
        channels (int): C.
        num_groups (int): G. Default: 1.
        num_kernels (int): K of every split's DKA. Default: 4.
        kernel_sizes (Sequence[int], optional): kernel of each split; None
            is ``2 * i + 3``. Default: None.
        stride (int): Default: 1.
        reduction (int): DKA attention reduction. Default: 4.
        conv_bn_cfg (dict): the layer of each split, a registered type
            taking :class:`~.DynamicConvModule`'s arguments (which the DSC
            sets) and its own: ``dict(type='ConvBN')`` (Dite-HRNet) or
            ``dict(type='EnhancedConvBN', ...)`` (EDite-HRNet).
            Default: ``dict(type='ConvBN')``.
        conv_cfg (dict, optional): conv layer config. Default: None.
        norm_cfg (dict, optional): norm config. Default: BN.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input (N, C, H, W) -> output (N, C, H / stride, W / stride).
    """

    def __init__(self,
                 channels: int,
                 num_groups: int = 1,
                 num_kernels: int = 4,
                 kernel_sizes: Optional[Sequence[int]] = None,
                 stride: int = 1,
                 reduction: int = 4,
                 conv_bn_cfg: dict = dict(type='ConvBN'),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if (not isinstance(num_groups, int) or num_groups < 1
                or channels % num_groups):
            raise ValueError(f'DynamicSplitConv num_groups={num_groups!r}; '
                             f'allowed: a divisor of channels ({channels})')
        if not isinstance(num_kernels, int) or num_kernels < 1:
            raise ValueError(f'DynamicSplitConv num_kernels={num_kernels!r}; '
                             'allowed: an int >= 1')
        if kernel_sizes is None:
            kernel_sizes = [2 * i + 3 for i in range(num_groups)]
        kernel_sizes = list(kernel_sizes)
        if (len(kernel_sizes) != num_groups
                or any(k < 1 or k % 2 == 0 for k in kernel_sizes)):
            raise ValueError(
                f'DynamicSplitConv kernel_sizes={kernel_sizes} must give '
                f'one odd size per group ({num_groups})')
        self.num_groups = num_groups
        self.splits = [channels // num_groups] * num_groups
        self.convs = nn.ModuleList([
            build_block(
                conv_bn_cfg,
                'DynamicSplitConv conv_bn_cfg',
                in_channels=c,
                out_channels=c,
                kernel_size=k,
                stride=stride,
                groups=c,
                num_kernels=num_kernels,
                reduction=reduction,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg)
            for c, k in zip(self.splits, kernel_sizes)
        ])
        self.shuffle = ConcatShuffle()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.num_groups == 1:
            return self.convs[0](x)
        parts = torch.split(x, self.splits, dim=1)
        return self.shuffle(*[conv(p) for conv, p in zip(self.convs, parts)])
