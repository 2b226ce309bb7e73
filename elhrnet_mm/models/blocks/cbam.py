"""Convolutional Block Attention Module (CBAM).

Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018; used by
EL-HRNet (Li et al., Sensors 2024, 24, 396, Sec. 2.3.1, Eq. 5-7) inside the
LA-Basicblock and by CBAM-LiteHRNet.
"""
import copy
from typing import Optional, Sequence

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

    @property
    def channels(self) -> int:
        """C, the channels the module attends."""
        return self.channel_mlp[0].conv.in_channels

    def channel_attention(self, x: torch.Tensor) -> torch.Tensor:
        """``F_c`` of Eq. 5, shape (N, C, 1, 1).

        The shared MLP runs once, on the average- and max-pooled
        descriptors stacked along the batch (2N, C, 1, 1): the same values
        as two calls, in half the layer calls.
        """
        n = x.shape[0]
        descriptors = torch.cat([
            x.mean(dim=(2, 3), keepdim=True),
            x.amax(dim=(2, 3), keepdim=True)
        ])
        both = self.channel_mlp(descriptors)
        return torch.sigmoid(both[:n] + both[n:])

    def spatial_attention(self, x: torch.Tensor) -> torch.Tensor:
        """``F_s`` of Eq. 6, shape (N, 1, H, W)."""
        pooled = torch.cat(
            [x.amax(dim=1, keepdim=True),
             x.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.spatial_conv(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel_attention(x)
        return x * self.spatial_attention(x)


class BranchCBAMs(nn.ModuleList):
    """B :class:`CBAM` s (a ``ModuleList``, indexed ``<b>``), one per
    channel group of a concatenation: ``forward`` splits its input into the
    B groups of ``C_b`` channels, refines each with its CBAM and
    concatenates. The training form of :class:`StackedCBAM`, which computes
    the same map in a fixed number of calls and replaces it at deployment.

    Shapes:
        input (N, sum C_b, H, W) -> output (N, sum C_b, H, W).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, [cbam.channels for cbam in self], dim=1)
        return torch.cat([cbam(p) for cbam, p in zip(self, parts)], dim=1)


class StackedCBAM(nn.Module):
    """B eval-mode :class:`CBAM` s on maps of one size, run on their
    channel concatenation in a fixed number of calls (not B times as many).

    * Channel gate: the B MLPs become one 1x1 conv pair with block-diagonal
      weights (``sum C_b -> sum h_b -> sum C_b``; the zero blocks add exact
      zeros), applied once to the stacked [avg; max] descriptors.
    * Spatial gate: the per-branch [max; mean] maps (N, 2B, H, W) go
      through one conv with B groups (the B spatial kernels, their BN
      already folded in), one sigmoid, and each map scales its branch.

    Built by :meth:`CBAMCrossResolutionWeighting.switch_to_deploy
    <elhrnet_mm.models.blocks.CBAMCrossResolutionWeighting.switch_to_deploy>`
    from the :class:`BranchCBAMs` it replaces, once their spatial norms
    are folded (:meth:`can_stack`).

    Shapes:
        input (N, sum C_b, H, W) -> output (N, sum C_b, H, W).
    """

    def __init__(self, cbams: Sequence[CBAM]):
        super().__init__()
        if not self.can_stack(cbams):
            raise ValueError('StackedCBAM needs CBAMs with the same '
                             'activation and spatial kernel and no norm left '
                             'in their spatial conv (fold it first)')
        first = [c.channel_mlp[0].conv for c in cbams]
        second = [c.channel_mlp[1].conv for c in cbams]
        self.channels = [c.channels for c in cbams]
        self.mlp_in = self._block_diagonal(first)
        self.act = copy.deepcopy(cbams[0].channel_mlp[0].activate)
        self.mlp_out = self._block_diagonal(second)
        spatial = [c.spatial_conv.conv for c in cbams]
        k = spatial[0].kernel_size
        self.spatial = nn.Conv2d(
            2 * len(cbams), len(cbams), k, padding=spatial[0].padding,
            groups=len(cbams), bias=True)
        with torch.no_grad():
            self.spatial.weight.copy_(torch.cat([s.weight for s in spatial]))
            self.spatial.bias.copy_(
                torch.cat([
                    s.bias if s.bias is not None else s.weight.new_zeros(1)
                    for s in spatial
                ]))
        # branch of every output channel: which spatial map scales it
        self.register_buffer(
            'branch_of_channel',
            torch.repeat_interleave(
                torch.arange(len(cbams)), torch.tensor(self.channels)),
            persistent=False)

    @staticmethod
    def can_stack(cbams: Sequence[CBAM]) -> bool:
        """Same activation type and spatial kernel, spatial norm folded."""
        convs = [c.spatial_conv for c in cbams]
        return (len(cbams) > 0
                and all(not c.with_norm and not c.with_activation
                        for c in convs)
                and len({c.conv.kernel_size for c in convs}) == 1
                and len({type(c.channel_mlp[0].activate)
                         for c in cbams}) == 1)

    @staticmethod
    @torch.no_grad()
    def _block_diagonal(convs: Sequence[nn.Conv2d]) -> nn.Conv2d:
        cin = sum(c.in_channels for c in convs)
        cout = sum(c.out_channels for c in convs)
        stacked = nn.Conv2d(cin, cout, 1, bias=True)
        stacked.weight.zero_()
        i = o = 0
        for conv in convs:
            stacked.weight[o:o + conv.out_channels,
                           i:i + conv.in_channels] = conv.weight
            stacked.bias[o:o + conv.out_channels] = (
                conv.bias if conv.bias is not None else 0)
            i += conv.in_channels
            o += conv.out_channels
        return stacked

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        descriptors = torch.cat([
            x.mean(dim=(2, 3), keepdim=True),
            x.amax(dim=(2, 3), keepdim=True)
        ])
        both = self.mlp_out(self.act(self.mlp_in(descriptors)))
        x = x * torch.sigmoid(both[:n] + both[n:])
        gates = torch.sigmoid(self.spatial_logits(x))
        return x * gates.index_select(1, self.branch_of_channel)

    def spatial_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The B spatial gates before their sigmoid, (N, B, H, W), from
        the channel-gated input ``x`` (N, sum C_b, H, W): each branch's
        [max; mean] over its channels, then the grouped ``k x k`` conv."""
        maps = []
        for part in torch.split(x, self.channels, dim=1):
            maps += [part.amax(dim=1, keepdim=True),
                     part.mean(dim=1, keepdim=True)]
        return self.spatial(torch.cat(maps, dim=1))
