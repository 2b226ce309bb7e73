"""Global Context Modeling (GCM), the per-branch half of Dite-HRNet's
Adaptive Context Modeling.

Li et al., "Dite-HRNet: Dynamic Lightweight High-Resolution Network for Human
Pose Estimation", IJCAI 2022, Sec. 3.3 (ACM, Eq. 5-6), a GCNet-style block
(Cao et al., ICCVW 2019) with multiplicative fusion.
"""
import copy
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from ..utils.bn_folding import bn_scale_shift, is_eval_bn
from .folded_global_context_modeling import FoldedGlobalContextModeling


def context_pool(x: torch.Tensor,
                 logits: torch.Tensor,
                 grid: Tuple[int, int] = (1, 1)) -> torch.Tensor:
    """Softmax attention pooling of ``x`` over the cells of a ``grid``.

    The map is cut into ``grid`` = (gh, gw) windows of (H/gh, W/gw) pixels;
    in each window, ``logits`` are soft-maxed and the features averaged with
    those weights: ``out[:, :, i, j] = sum_p softmax(logits_window)_p x_p``.
    ``grid=(1, 1)`` is GCNet's global attention pooling.

    Shapes:
        x (N, C, H, W), logits (N, 1, H, W), H and W divisible by the grid
        -> (N, C, gh, gw).
    """
    n, c, h, w = x.shape
    gh, gw = grid
    if gh == gw == 1:  # global pooling: one matrix product
        weights = logits.view(n, h * w, 1).softmax(dim=1)
        return torch.bmm(x.reshape(n, c, h * w), weights).view(n, c, 1, 1)
    sh, sw = h // gh, w // gw
    cells = gh * gw
    windows = x.view(n, c, gh, sh, gw, sw).permute(0, 2, 4, 1, 3, 5)
    weights = logits.view(n, gh, sh, gw, sw).permute(0, 1, 3, 2, 4)
    weights = weights.reshape(n, cells, sh * sw, 1).softmax(dim=2)
    pooled = torch.matmul(windows.reshape(n, cells, c, sh * sw), weights)
    return pooled.view(n, gh, gw, c).permute(0, 3, 1, 2)


def channel_mlp(channels: int, hidden: int, conv_cfg: Optional[dict],
                norm_cfg: Optional[dict], act_cfg: dict) -> nn.Sequential:
    """Bottleneck of ACM's channel attention (before its sigmoid): 1x1 conv
    ``channels -> hidden`` without bias, norm, activation, 1x1 conv
    ``hidden -> channels`` with bias."""
    return nn.Sequential(
        ConvModule(
            channels,
            hidden,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=copy.deepcopy(norm_cfg),
            act_cfg=copy.deepcopy(act_cfg)),
        build_conv_layer(conv_cfg, hidden, channels, 1, bias=True))


@MODELS.register_module()
class GlobalContextModeling(BaseModule):
    """GCM: ``y = BN(x * sigmoid(MLP(softmax-attention-pool(x))))``.

    Attention pooling (:func:`context_pool` on the whole map, with a 1x1
    conv ``C -> 1`` with bias giving the logits) yields one context vector
    per sample; a bottleneck MLP (1x1 conv ``C -> C // r`` without bias,
    ``norm_cfg``, ``act_cfg``; 1x1 conv ``C // r -> C`` with bias; sigmoid)
    turns it into channel weights that multiply the input; a trailing
    ``norm_cfg`` layer follows. No residual (as the official code).
    Parameters: ``C + 1 + C * (C // r) + 2 * (C // r) + (C // r) * C + C +
    2 * C`` with BN.

    Args:
        channels (int): C.
        reduction (int): r. Default: 4 (the stem; DMC uses [4, 4, 8, 8] per
            branch).
        conv_cfg (dict, optional): conv layer config. Default: None.
        norm_cfg (dict, optional): norm of the MLP and the output.
            Default: BN.
        act_cfg (dict): activation of the MLP. Default: ReLU.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W).
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 4,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(reduction, int) or not 1 <= reduction <= channels:
            raise ValueError(f'GlobalContextModeling reduction={reduction!r} '
                             f'is not allowed for {channels} channels; '
                             f'allowed: an int in [1, {channels}]')
        self.conv_mask = build_conv_layer(conv_cfg, channels, 1, 1, bias=True)
        self.channel_attention = channel_mlp(channels, channels // reduction,
                                             conv_cfg, norm_cfg, act_cfg)
        self.norm = build_norm_layer(copy.deepcopy(norm_cfg), channels)[1]

    def switch_to_deploy(self) -> Optional[FoldedGlobalContextModeling]:
        """With an eval-mode BN as the output norm, the deploy form: a
        :class:`~.FoldedGlobalContextModeling` computing ``BN(x * g) =
        x * (g * scale) + shift`` (one fused multiply-add over the map
        instead of a multiply and a BN). This module is consumed (its norm
        becomes an ``nn.Identity``). None (nothing to fold) otherwise."""
        if not is_eval_bn(self.norm):
            return None
        scale, shift = bn_scale_shift(self.norm)
        self.norm = nn.Identity()
        return FoldedGlobalContextModeling(self, scale, shift)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The channel weights ``sigmoid(MLP(context_pool(x)))``, shape
        (N, C, 1, 1)."""
        context = context_pool(x, self.conv_mask(x))
        return torch.sigmoid(self.channel_attention(context))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x * self.gate(x))
