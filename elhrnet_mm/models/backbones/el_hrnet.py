"""EL-HRNet: MMPose's HRNet skeleton with LA-Basicblocks in stages 2-4.

Li et al., "Human Pose Estimation Based on Efficient and Lightweight
High-Resolution Network (EL-HRNet)", Sensors 2024, 24, 396, Fig. 5.
"""
import copy
import functools
from typing import Optional

from mmengine.model import constant_init
from mmpose.models.backbones import HRNet
from mmpose.registry import MODELS

from ..blocks import LABasicBlock, LBasicBlock
from .extra_checks import (HRNET_INIT_CFG, require_entries, require_even,
                           require_keys, require_no_fewer_branches)
from .mixins import MultiResolutionInputMixin

_STAGE_KEYS = ('num_modules', 'num_branches', 'block', 'num_blocks',
               'num_channels')
_L_BLOCK_KEYS = ('groups', 'nconv_norm_cfg', 'nconv_act_cfg')
_LA_BLOCK_KEYS = _L_BLOCK_KEYS + ('reduction_ratio', 'spatial_kernel_size')


class PresetBlock(functools.partial):
    """A block class with some constructor arguments preset.

    HRNet builds each block of ``blocks_dict`` as ``block(in_channels,
    out_channels, stride=..., downsample=..., with_cp=..., norm_cfg=...,
    conv_cfg=...)`` and reads ``block.expansion``; ``PresetBlock(block,
    **preset)`` adds ``preset`` to that call and passes ``expansion`` on.
    """

    @property
    def expansion(self) -> int:
        return self.func.expansion


@MODELS.register_module()
class ELHRNet(MultiResolutionInputMixin, HRNet):
    """HRNet with a selectable residual block in stages 2-4.

    Everything but the blocks is MMPose's :class:`~mmpose.models.HRNet`
    (stem, stage-1 Bottlenecks, transitions, fuse layers, ``frozen_stages``,
    ``norm_eval``, ``with_cp``), with the same parameter names, so an
    HRNet-W32 checkpoint initialises all of those layers (see
    docs/el_hrnet.md for the ``init_cfg`` recipe). Each stage's ``block`` is
    one of ``BASIC`` (HRNet), ``BOTTLENECK``, ``L_BASIC``
    (:class:`LBasicBlock`) or ``LA_BASIC`` (:class:`LABasicBlock`, the
    paper's EL-HRNet).

    Args:
        extra (dict): stage specs ``stage1`` ... ``stage4`` as for HRNet, each
            with ``num_modules``, ``num_branches``, ``block``, ``num_blocks``
            and ``num_channels`` (one entry per branch).
        act_cfg (dict): activation inside L/LA blocks. Default: ReLU.
        block_cfg (dict, optional): extra arguments of the L/LA blocks:
            ``groups`` (NConv3x3's 3x3 groups; None is depthwise, the paper's
            count), ``nconv_norm_cfg``, ``nconv_act_cfg``, and for LA_BASIC
            ``reduction_ratio`` (CBAM, default 16) and
            ``spatial_kernel_size`` (default 7). Default: None.
        Other arguments as :class:`~mmpose.models.HRNet`.

    Shapes:
        input (N, 3, H, W), H and W multiples of ``size_divisor`` (32 for four
        branches) -> tuple of (N, C_i, H/4/2^i, W/4/2^i) per output branch
        (one, the highest resolution, unless
        ``extra['stage4']['multiscale_output']``).
    """

    blocks_dict = {
        **HRNet.blocks_dict, 'L_BASIC': LBasicBlock,
        'LA_BASIC': LABasicBlock
    }

    def __init__(self,
                 extra: dict,
                 in_channels: int = 3,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 block_cfg: Optional[dict] = None,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = False,
                 frozen_stages: int = -1,
                 init_cfg=HRNET_INIT_CFG):
        block_cfg = dict(block_cfg or {})
        self._check_extra(extra, block_cfg)
        # HRNet looks its blocks up in ``self.blocks_dict``; bind ours to the
        # act/block arguments before HRNet builds the stages.
        self.blocks_dict = dict(type(self).blocks_dict)
        for name in ('L_BASIC', 'LA_BASIC'):
            keys = _LA_BLOCK_KEYS if name == 'LA_BASIC' else _L_BLOCK_KEYS
            self.blocks_dict[name] = PresetBlock(
                type(self).blocks_dict[name],
                act_cfg=copy.deepcopy(act_cfg),
                **{k: v
                   for k, v in block_cfg.items() if k in keys})
        super().__init__(
            extra,
            in_channels=in_channels,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            with_cp=with_cp,
            zero_init_residual=zero_init_residual,
            frozen_stages=frozen_stages,
            init_cfg=init_cfg)
        num_branches = extra['stage4']['num_branches']
        self.size_divisor = 4 * 2**(num_branches - 1)

    @classmethod
    def _check_extra(cls, extra: dict, block_cfg: dict) -> None:
        """Raise ValueError naming the field for any malformed stage spec."""
        allowed_blocks = ', '.join(cls.blocks_dict)
        used = set()
        require_keys(extra, [f'stage{s}' for s in range(1, 5)], 'extra')
        for s in range(1, 5):
            name = f'stage{s}'
            stage = extra[name]
            require_keys(stage, _STAGE_KEYS, f"extra['{name}']")
            if stage['block'] not in cls.blocks_dict:
                raise ValueError(
                    f"extra['{name}']['block'] = {stage['block']!r} is "
                    f'unknown; allowed: {allowed_blocks}')
            used.add(stage['block'])
            nb = stage['num_branches']
            for key in ('num_blocks', 'num_channels'):
                require_entries(stage[key], nb, f"extra['{name}']['{key}']",
                                'num_branches', 'branch')
            if s > 1:
                require_no_fewer_branches(
                    nb, extra[f'stage{s - 1}']['num_branches'],
                    f"extra['{name}']['num_branches']")
            if stage['block'] in ('L_BASIC', 'LA_BASIC'):
                cls._check_l_channels(name, stage, block_cfg)
        allowed_keys = _LA_BLOCK_KEYS if 'LA_BASIC' in used else _L_BLOCK_KEYS
        unknown = sorted(set(block_cfg) - set(allowed_keys))
        if unknown:
            raise ValueError(f'block_cfg has unknown keys {unknown}; allowed '
                             f'for the blocks in use: {list(allowed_keys)}')

    @staticmethod
    def _check_l_channels(name: str, stage: dict, block_cfg: dict) -> None:
        groups = block_cfg.get('groups')
        ratio = block_cfg.get('reduction_ratio', 16)
        require_even(stage['num_channels'], f"extra['{name}']['num_channels']",
                     f"{stage['block']} blocks")
        for i, c in enumerate(stage['num_channels']):
            field = f"extra['{name}']['num_channels'][{i}] = {c}"
            if groups is not None and (c // 2) % groups:
                raise ValueError(
                    f"{field}: its half ({c // 2}) does not split into "
                    f"block_cfg['groups'] = {groups} groups; allowed: groups "
                    f'dividing {c // 2}, or None (depthwise)')
            if stage['block'] == 'LA_BASIC' and c // ratio < 1:
                raise ValueError(
                    f"{field} is smaller than CBAM's reduction_ratio "
                    f'({ratio}); allowed: reduction_ratio <= {c}')

    def init_weights(self) -> None:
        """HRNet's init, plus ``zero_init_residual`` for L/LA blocks."""
        super().init_weights()
        pretrained = (isinstance(self.init_cfg, dict)
                      and self.init_cfg.get('type') == 'Pretrained')
        if self.zero_init_residual and not pretrained:
            for m in self.modules():
                if isinstance(m, LBasicBlock):
                    constant_init(m.nconv2_norm, 0)
