"""Dite-HRNet: MMPose's Lite-HRNet skeleton with dynamic blocks.

Li et al., "Dite-HRNet: Dynamic Lightweight High-Resolution Network for Human
Pose Estimation", IJCAI 2022, Sec. 3 and Fig. 1: Lite-HRNet's macro
architecture (stem, transitions, fuse layers, iterative head) with a DGC
block as the second half of the stem and DMC blocks in the stages.
"""
import copy
from typing import List, Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.models.backbones import LiteHRNet
from mmpose.models.backbones.litehrnet import LiteHRModule
from mmpose.registry import MODELS

from ..blocks.build import build_block
from .extra_checks import HRNET_INIT_CFG, check_lite_extra, require_keys
from .mixins import MultiResolutionInputMixin

_SPEC_KEYS = ('num_modules', 'num_branches', 'num_blocks', 'with_fuse',
              'num_channels')


class DiteStem(BaseModule):
    """3x3 conv (stride 2) + BN + ReLU, then a stride-2 DGC-type block.

    ``block`` is the block's config (``dict(type='DGCBlock', ...)``); the
    stem sets its ``channels``, ``stride``, ``conv_cfg``, ``norm_cfg`` and
    ``with_cp``.

    Shapes:
        input (N, C_in, H, W) -> output (N, stem_channels, H / 4, W / 4).
    """

    def __init__(self,
                 in_channels: int,
                 stem_channels: int,
                 block: dict,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.out_channels = stem_channels
        self.conv1 = ConvModule(
            in_channels,
            stem_channels,
            3,
            stride=2,
            padding=1,
            conv_cfg=conv_cfg,
            norm_cfg=copy.deepcopy(norm_cfg),
            act_cfg=dict(type='ReLU'))
        self.block = build_block(
            block,
            'stem_block',
            channels=stem_channels,
            stride=2,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            with_cp=with_cp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.conv1(x))


class DiteHRModule(LiteHRModule):
    """Lite-HRNet's multi-branch module with another block type.

    Everything (the fuse layers with their quirks, ``multiscale_output``,
    the forward pass) is MMPose's :class:`LiteHRModule` in its 'LITE' mode,
    in which ``self.layers`` maps the list of branches to a list of
    branches; only the blocks differ: ``num_blocks`` blocks built from the
    config ``block`` (``dict(type='DMCBlock', ...)``), the module setting
    their ``in_channels`` (one per branch), ``conv_cfg``, ``norm_cfg`` and
    ``with_cp``. Like the official Dite-HRNet, the ReLU
    after each fused sum is in place, so the sum of row 0 (which aliases
    the first branch) also feeds rows >= 1 after the ReLU.
    """

    def __init__(self,
                 num_branches: int,
                 num_blocks: int,
                 in_channels: List[int],
                 block: dict,
                 multiscale_output: bool = False,
                 with_fuse: bool = True,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        # read by _make_weighting_blocks during LiteHRModule.__init__
        self.block_cfg = block
        super().__init__(
            num_branches,
            num_blocks,
            in_channels,
            reduce_ratio=None,
            module_type='LITE',
            multiscale_output=multiscale_output,
            with_fuse=with_fuse,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            with_cp=with_cp,
            init_cfg=init_cfg)
        if with_fuse:
            self.relu = nn.ReLU(inplace=True)

    def _make_weighting_blocks(self, num_blocks, reduce_ratio, stride=1):
        """``num_blocks`` blocks on all branches (LiteHRModule's hook)."""
        return nn.Sequential(*[
            build_block(
                self.block_cfg,
                'stage_block',
                in_channels=self.in_channels,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                with_cp=self.with_cp) for _ in range(num_blocks)
        ])


@MODELS.register_module()
class DiteHRNet(MultiResolutionInputMixin, LiteHRNet):
    """Dite-HRNet backbone (18: ``num_modules=(2, 4, 2)``, 30: (3, 8, 3)).

    MMPose's :class:`~mmpose.models.LiteHRNet` (transitions, fuse layers,
    iterative head, ``norm_eval``; same parameter names) with

    * the stem's second half a ``stem_block`` (by default a
      :class:`~elhrnet_mm.models.blocks.DGCBlock`, stride 2;
      :class:`DiteStem`), and
    * every conditional channel weighting block a ``stage_block`` (by
      default a :class:`~elhrnet_mm.models.blocks.DMCBlock`).

    Both are config dicts built through MMPose's ``MODELS``, so other
    blocks come by config: EDite-HRNet is ``stem_block=dict(type=
    'EDGCBlock')``, ``stage_block=dict(type='EDMCBlock')``
    (:class:`~elhrnet_mm.models.backbones.EDiteHRNet`). All block
    hyper-parameters are the official ones by default (they are hard-coded
    there); the dicts' further keys override them.

    Args:
        extra (dict): ``stem=dict(stem_channels, out_channels)`` (equal),
            ``num_stages``, ``stages_spec=dict(num_modules, num_branches,
            num_blocks, with_fuse, num_channels)`` (one entry per stage;
            ``num_channels[i]`` one even width per branch) and
            ``with_head`` (Lite-HRNet's iterative head).
        in_channels (int): Default: 3.
        conv_cfg (dict, optional): conv layer config. Default: None.
        norm_cfg (dict): norm config. Default: BN.
        norm_eval (bool): freeze BN statistics in training. Default: False.
        with_cp (bool): gradient checkpointing in the blocks.
            Default: False.
        stem_block (dict): the stem block, ``type`` and its arguments other
            than ``channels``, ``stride``, ``conv_cfg``, ``norm_cfg`` and
            ``with_cp`` (see :class:`~elhrnet_mm.models.blocks.DGCBlock`).
            Default: ``dict(type='DGCBlock')``.
        stage_block (dict): the stage blocks, ``type`` and its arguments
            other than ``in_channels``, ``conv_cfg``, ``norm_cfg`` and
            ``with_cp`` (see :class:`~elhrnet_mm.models.blocks.DMCBlock`,
            e.g. ``dcm_pooling='window'``). Default: ``dict(type='DMCBlock')``.
        init_cfg (list[dict]): as LiteHRNet (Normal(std=0.001) for Conv2d,
            1 for norms); DKA kernel banks keep their own Kaiming init.

    Shapes:
        input (N, 3, H, W), H and W multiples of ``size_divisor`` (32 with
        four branches) -> tuple with one (N, C_0, H/4, W/4) tensor.
    """

    def __init__(self,
                 extra: dict,
                 in_channels: int = 3,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 stem_block: dict = dict(type='DGCBlock'),
                 stage_block: dict = dict(type='DMCBlock'),
                 init_cfg=HRNET_INIT_CFG):
        self._check_extra(extra)
        # read by _make_stage during LiteHRNet.__init__
        self.stage_block_cfg = copy.deepcopy(stage_block)
        lite_extra = copy.deepcopy(extra)
        lite_extra['stem'].setdefault('expand_ratio', 1)
        super().__init__(
            lite_extra,
            in_channels=in_channels,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            with_cp=with_cp,
            init_cfg=init_cfg)
        # LiteHRNet.__init__ builds its own stem (no hook to avoid that);
        # it is replaced here, before any weight initialisation.
        self.stem = DiteStem(
            in_channels,
            extra['stem']['stem_channels'],
            stem_block,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            with_cp=with_cp)
        num_branches = extra['stages_spec']['num_branches'][-1]
        self.size_divisor = 4 * 2**(num_branches - 1)

    @staticmethod
    def _check_extra(extra: dict) -> None:
        """Raise ValueError naming the field for a malformed ``extra``."""
        check_lite_extra(extra, _SPEC_KEYS, 'the blocks')
        stem = extra['stem']
        require_keys(stem, ('stem_channels', 'out_channels'), "extra['stem']")
        if stem['stem_channels'] != stem['out_channels']:
            raise ValueError(
                f"extra['stem']: stem_channels ({stem['stem_channels']}) and "
                f"out_channels ({stem['out_channels']}) must be equal (the "
                'DGC stem block keeps the width)')

    def _make_stage(self,
                    stages_spec,
                    stage_index,
                    in_channels,
                    multiscale_output=True):
        """``num_modules`` :class:`DiteHRModule` (LiteHRNet's hook)."""
        modules = [
            DiteHRModule(
                stages_spec['num_branches'][stage_index],
                stages_spec['num_blocks'][stage_index],
                in_channels,
                self.stage_block_cfg,
                multiscale_output=multiscale_output,
                with_fuse=stages_spec['with_fuse'][stage_index],
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                with_cp=self.with_cp)
            for _ in range(stages_spec['num_modules'][stage_index])
        ]
        return nn.Sequential(*modules), in_channels
