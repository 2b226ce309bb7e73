"""Dynamic Multi-scale Context (DMC) block of Dite-HRNet.

Li et al., "Dite-HRNet: Dynamic Lightweight High-Resolution Network for Human
Pose Estimation", IJCAI 2022, Sec. 3.4, Fig. 3a; as formulated by Rui et al.
("EDite-HRNet", IEEE Access, Eq. 1).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from .dense_context_modeling import DenseContextModeling
from .dynamic_split_conv import ConcatShuffle, DynamicSplitConv
from .global_context_modeling import GlobalContextModeling

#: (input, DCM output, DSC output, GCM output) of the complex half, each a
#: list over the resolution branches.
Stages = Tuple[List[torch.Tensor], ...]


@MODELS.register_module()
class DMCBlock(BaseModule):
    """DMC: ``Y1, Y2 = split(X); Y2 = GCM(DSC(DCM(Y2))); out = shuffle(
    concat(Y1, Y2))`` on every branch of a multi-resolution module.

    Each branch's channels are halved: the first half Y1 is passed on
    unchanged (the "simple" branch), the second half Y2 goes through
    :class:`~.DenseContextModeling` across all branches, then per branch
    :class:`~.DynamicSplitConv` and :class:`~.GlobalContextModeling`
    ("complex" branch). Per branch ``[Y1, Y2]`` is concatenated and
    channel-shuffled (2 groups). No residual. The per-branch settings are
    Dite-HRNet's (branch b = 0 is the highest resolution).

    Args:
        in_channels (Sequence[int]): C_b per branch (even), highest
            resolution first, each branch at half the previous resolution.
        dsc_groups (Sequence[int]): DSC splits per branch.
            Default: (1, 1, 2, 4).
        dsc_kernels (Sequence[int]): DSC's DKA kernels per branch.
            Default: (4, 4, 2, 1).
        gcm_reductions (Sequence[int]): GCM reduction per branch.
            Default: (4, 4, 8, 8).
        dcm_reduction (int): DCM reduction. Default: 8.
        dcm_pooling (str): DCM pooling, ``'official'`` or ``'window'``
            (see :class:`~.DenseContextModeling`). Default: 'official'.
        dka_reduction (int): DKA attention reduction. Default: 4.
        conv_bn_cfg (dict): the DSC's layers (see
            :class:`~.DynamicSplitConv`). Default: ``dict(type='ConvBN')``.
        conv_cfg (dict, optional): conv layer config. Default: None.
        norm_cfg (dict, optional): norm config. Default: BN.
        act_cfg (dict): activation of the attention MLPs. Default: ReLU.
        with_cp (bool): gradient checkpointing. Default: False.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input: list of (N, C_b, H_b, W_b) -> output: list of the same
        shapes.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 dsc_groups: Sequence[int] = (1, 1, 2, 4),
                 dsc_kernels: Sequence[int] = (4, 4, 2, 1),
                 gcm_reductions: Sequence[int] = (4, 4, 8, 8),
                 dcm_reduction: int = 8,
                 dcm_pooling: str = 'official',
                 dka_reduction: int = 4,
                 conv_bn_cfg: dict = dict(type='ConvBN'),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        num_branches = len(in_channels)
        for field, values in (('dsc_groups', dsc_groups),
                              ('dsc_kernels', dsc_kernels),
                              ('gcm_reductions', gcm_reductions)):
            if len(values) < num_branches:
                raise ValueError(
                    f'{name} {field} has {len(values)} entries but there are '
                    f'{num_branches} branches; give one entry per branch')
        for b, c in enumerate(in_channels):
            if c < 2 or c % 2:
                raise ValueError(f'{name} in_channels[{b}] = {c} must be '
                                 'even (the block splits it in halves)')
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.branch_channels = [c // 2 for c in in_channels]
        self.dcm = DenseContextModeling(
            self.branch_channels,
            reduction=dcm_reduction,
            pooling=dcm_pooling,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.dsc = nn.ModuleList([
            DynamicSplitConv(
                c,
                num_groups=dsc_groups[b],
                num_kernels=dsc_kernels[b],
                reduction=dka_reduction,
                conv_bn_cfg=conv_bn_cfg,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg)
            for b, c in enumerate(self.branch_channels)
        ])
        self.gcm = nn.ModuleList([
            GlobalContextModeling(
                c,
                reduction=gcm_reductions[b],
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg)
            for b, c in enumerate(self.branch_channels)
        ])
        self.shuffle = ConcatShuffle()

    def complex_branch(self, x: List[torch.Tensor]) -> Stages:
        """The complex half's input and the outputs of its three stages
        (DCM, DSC, GCM), each a list over the resolution branches."""
        y1 = self.dcm(x)
        y2 = [dsc(s) for dsc, s in zip(self.dsc, y1)]
        y3 = [gcm(s) for gcm, s in zip(self.gcm, y2)]
        return x, y1, y2, y3

    def simple_branch(self, x: List[torch.Tensor],
                      stages: Stages) -> List[torch.Tensor]:
        """The simple half: an identity in the DMC block."""
        return x

    def _forward(self, *x: torch.Tensor) -> List[torch.Tensor]:
        halves = [s.chunk(2, dim=1) for s in x]
        stages = self.complex_branch([h[1] for h in halves])
        simple = self.simple_branch([h[0] for h in halves], stages)
        return [self.shuffle(*pair) for pair in zip(simple, stages[-1])]

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        if self.with_cp and any(s.requires_grad for s in x):
            return cp.checkpoint(self._forward, *x, use_reentrant=False)
        return self._forward(*x)
