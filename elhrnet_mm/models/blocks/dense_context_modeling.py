"""Dense Context Modeling (DCM), the cross-branch half of Dite-HRNet's
Adaptive Context Modeling.

Li et al., "Dite-HRNet: Dynamic Lightweight High-Resolution Network for Human
Pose Estimation", IJCAI 2022, Sec. 3.3 (ACM, Eq. 5 and 7). It takes the place
of Lite-HRNet's cross-resolution weighting, with attention pooling instead
of average pooling.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from .global_context_modeling import channel_mlp, context_pool
from .nearest_upsample import scale_by_upsampled

#: Readings of DCM's attention pooling, see :class:`DenseContextModeling`.
POOLINGS = ('official', 'window')


def official_context_pool(x: torch.Tensor, logits: torch.Tensor,
                          grid: Tuple[int, int]) -> torch.Tensor:
    """DCM's pooling as the official Dite-HRNet code computes it.

    The logits are soft-maxed over the whole map; then both the features
    (viewed as raw memory, ``(N, C*H*W) -> (N, cells, C, H*W/cells)``) and
    the weights (``(N, H*W) -> (N, cells, H*W/cells)``) are cut into
    ``cells = gh * gw`` consecutive runs, and run r of the features is
    pooled with run r of the weights. A run is a raster segment, not a
    window, and (for C > 1) the feature "channels" of a run are consecutive
    memory, so this is not the windowed pooling the paper describes (that is
    :func:`~.global_context_modeling.context_pool`); it has the same
    parameters and FLOPs.

    Shapes:
        x (N, C, H, W), logits (N, 1, H, W) -> (N, C, gh, gw).
    """
    n, c, h, w = x.shape
    cells = grid[0] * grid[1]
    runs = x.reshape(n, cells, c, h * w // cells)
    weights = logits.view(n, h * w).softmax(dim=1).view(n, cells, -1, 1)
    pooled = torch.matmul(runs, weights)
    return pooled.permute(0, 2, 1, 3).reshape(n, c, *grid)


@MODELS.register_module()
class DenseContextModeling(BaseModule):
    """DCM: cross-branch channel weights from attention-pooled features.

    Every branch but the lowest-resolution one is attention-pooled to the
    lowest resolution (gh, gw) (logits from a 1x1 conv ``C_b -> 1`` with
    bias); the lowest branch is used as it is. The concatenation (``S =
    sum C_b`` channels) goes through a bottleneck (1x1 conv ``S -> S // r``
    without bias, ``norm_cfg``, ``act_cfg``; 1x1 conv ``S // r -> S`` with
    bias; sigmoid); the weights are split per branch, upsampled (nearest)
    and multiply the branches. The official code also builds a logits conv
    for the lowest branch that it never uses; it is not built here.

    Args:
        channels (Sequence[int]): C_b per branch, highest resolution first;
            each branch halves the previous one's resolution.
        reduction (int): r. Default: 8 (Dite-HRNet).
        pooling (str): ``'official'`` (:func:`official_context_pool`, what
            the released Dite-HRNet code computes) or ``'window'``
            (:func:`~.global_context_modeling.context_pool`, softmax
            pooling within each window, the paper's description).
            Default: 'official'.
        conv_cfg (dict, optional): conv layer config. Default: None.
        norm_cfg (dict, optional): norm of the bottleneck. Default: BN.
        act_cfg (dict): activation of the bottleneck. Default: ReLU.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input: list of (N, C_b, H_b, W_b), each H_b, W_b divisible by the
        last branch's -> output: list of the same shapes.
    """

    def __init__(self,
                 channels: Sequence[int],
                 reduction: int = 8,
                 pooling: str = 'official',
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if pooling not in POOLINGS:
            raise ValueError(f'DenseContextModeling pooling={pooling!r}; '
                             f'allowed: {POOLINGS}')
        total = sum(channels)
        if not isinstance(reduction, int) or not 1 <= reduction <= total:
            raise ValueError(
                f'DenseContextModeling reduction={reduction!r} is not '
                f'allowed for {total} channels; allowed: an int in '
                f'[1, {total}]')
        self.channels = list(channels)
        self.pooling = pooling
        self.pool = (
            official_context_pool if pooling == 'official' else context_pool)
        self.conv_masks = nn.ModuleList([
            build_conv_layer(conv_cfg, c, 1, 1, bias=True)
            for c in self.channels[:-1]
        ])
        self.channel_attention = channel_mlp(total, total // reduction,
                                             conv_cfg, norm_cfg, act_cfg)

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        grid = tuple(x[-1].shape[-2:])
        pooled = [
            self.pool(s, mask(s), grid)
            for s, mask in zip(x[:-1], self.conv_masks)
        ] + [x[-1]]
        return self.weigh(x, torch.cat(pooled, dim=1))

    def weigh(self, x: List[torch.Tensor],
              context: torch.Tensor) -> List[torch.Tensor]:
        """The branches ``x`` multiplied by their weights from ``context``,
        the concatenated pooled maps (N, sum C_b, gh, gw) (a deploy form
        may pool and concatenate in other operators, with the same
        values)."""
        weights = torch.sigmoid(self.channel_attention(context))
        weights = torch.split(weights, self.channels, dim=1)
        return [scale_by_upsampled(s, a) for s, a in zip(x, weights)]
