"""MobilePoseNet's decoder: lightweight upsampling blocks from C4 to 1/4.

"Designing Compact Convolutional Filters for Lightweight Human
Pose Estimation", Wireless Communications and Mobile Computing 2021,
Sec. 3.2 and Fig. 2: SimpleBaseline's transposed convolutions replaced by
lightweight upsampling blocks, fed with the stride-16 (C4) features, so two
blocks reach the heatmap stride 4.
"""
import copy
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from ..blocks import LightweightUpsampleBlock


@MODELS.register_module()
class LPBDecoder(BaseModule):
    """A chain of :class:`LightweightUpsampleBlock`, each doubling H and W.

    Block ``i`` maps ``C_{i-1} -> out_channels[i]`` (``C_{-1} =
    in_channels``) through ``expand_ratio * C_{i-1}`` expanded channels.

    Args:
        in_channels (int): channels of the selected backbone output.
            Default: 112 (MobileNetV3-Large C4).
        out_channels (Sequence[int]): output channels of each block; their
            number is the number of x2 upsamplings. Default: (128, 128).
        expand_ratio (int): expanded width over the block's input width.
            Default: 5.
        in_index (int): which backbone output to decode. Default: -1.
        block_cfg (dict, optional): further arguments of every block
            (``kernel_size``, ``se_position``, ``se_ratio``, ``fusion``,
            ``conv_cfg``, ``norm_cfg``, ``act_cfg``).
        init_cfg (dict, optional): initialisation config.

    The defaults are a choice (the paper's layer table, its Table 1, is not
    in our copy): see docs/mobileposenet.md for how they were picked and
    their parameters and FLOPs.

    Shapes:
        input tuple whose ``in_index`` entry is (N, in_channels, H, W) ->
        tuple of one (N, out_channels[-1], H * 2^B, W * 2^B), B blocks.
    """

    def __init__(self,
                 in_channels: int = 112,
                 out_channels: Sequence[int] = (128, 128),
                 expand_ratio: int = 5,
                 in_index: int = -1,
                 block_cfg: Union[dict, None] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(out_channels) < 1:
            raise ValueError('out_channels must list at least one block')
        if not isinstance(expand_ratio, int) or expand_ratio < 1:
            raise ValueError(f'expand_ratio must be a positive int, got '
                             f'{expand_ratio!r}')
        block_cfg = dict(block_cfg or {})
        for key in ('in_channels', 'out_channels', 'mid_channels'):
            if key in block_cfg:
                raise ValueError(f"block_cfg must not set '{key}'; it is "
                                 'derived from in_channels, out_channels and '
                                 'expand_ratio')
        self.in_index = in_index
        blocks = []
        channels = in_channels
        for out in out_channels:
            blocks.append(
                LightweightUpsampleBlock(
                    channels, out, expand_ratio * channels,
                    **copy.deepcopy(block_cfg)))
            channels = out
        self.blocks = nn.Sequential(*blocks)

    def forward(self, inputs: Union[torch.Tensor, Tuple[torch.Tensor]]
                ) -> Tuple[torch.Tensor]:
        x = inputs if isinstance(inputs, torch.Tensor) else inputs[
            self.in_index]
        return (self.blocks(x), )
