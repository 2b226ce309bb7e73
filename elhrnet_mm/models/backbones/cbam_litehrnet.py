"""CBAM-LiteHRNet: MMPose's Lite-HRNet, CBAMs in cross-resolution weighting.

"Lightweight Human Pose Estimation with Attention Mechanism", Sec. III-B/C,
Fig. 1: CBAM modules "before the fully connected layer in each resolution"
of Lite-HRNet (Yu et al., CVPR 2021). Design choices: docs/cbam_litehrnet.md.
"""
from typing import Optional

from mmpose.models.backbones import LiteHRNet
from mmpose.registry import MODELS

from ..blocks import CBAMCrossResolutionWeighting
from .extra_checks import HRNET_INIT_CFG, check_lite_extra
from .mixins import MultiResolutionInputMixin

#: Which conditional channel weighting (CCW) blocks get CBAMs.
CBAM_BLOCKS = ('all', 'first_per_module', 'first_per_stage')
_SPEC_KEYS = ('num_modules', 'num_branches', 'num_blocks', 'module_type',
              'with_fuse', 'reduce_ratios', 'num_channels')


@MODELS.register_module()
class CBAMLiteHRNet(MultiResolutionInputMixin, LiteHRNet):
    """Lite-HRNet whose cross-resolution weighting units carry CBAMs.

    Everything is MMPose's :class:`~mmpose.models.LiteHRNet` (stem,
    transitions, LiteHRModules with their conditional channel weighting
    blocks and fuse layers, IterativeHead, ``norm_eval``), built by its own
    constructor; afterwards the ``cross_resolution_weighting`` of the chosen
    CCW blocks is replaced, under the same attribute name, by a
    :class:`CBAMCrossResolutionWeighting` with the same channels, ratio,
    conv and norm configs. Every Lite-HRNet parameter therefore keeps its
    name and shape, and a Lite-HRNet checkpoint initialises all of them,
    leaving only the ``...cross_resolution_weighting.cbams.*`` entries.

    Each CBAM sees one branch's processed half (C_b / 2 channels: 20, 40, 80,
    160 for Lite-HRNet-18/30) and adds ``2 c h + h + c + 98 + 2`` parameters
    (h = max(c // r, 1) with ``cbam_clamp_hidden``).

    Args:
        extra (dict): as :class:`~mmpose.models.LiteHRNet`: ``stem``,
            ``num_stages``, ``stages_spec`` (``num_modules``,
            ``num_branches``, ``num_blocks``, ``module_type`` (all
            ``'LITE'``), ``with_fuse``, ``reduce_ratios``, ``num_channels``)
            and ``with_head``.
        cbam_position (str): ``'pooled'`` (default), ``'full'`` or
            ``'main'``; see :class:`CBAMCrossResolutionWeighting`.
        cbam_blocks (str): CCW blocks that get CBAMs: ``'all'`` (default),
            ``'first_per_module'`` (the first of each LiteHRModule) or
            ``'first_per_stage'``.
        cbam_reduction_ratio (int): r of the CBAMs' channel MLP. Default: 16.
        cbam_spatial_kernel_size (int): CBAMs' spatial conv size. Default: 7.
        cbam_clamp_hidden (bool): hidden width 1 where a branch has fewer
            channels than r, instead of a ValueError. Default: True.
        with_cp (bool): must be False (MMPose's conditional channel
            weighting fails with checkpointing). Default: False.
        Other arguments as :class:`~mmpose.models.LiteHRNet`.

    Shapes:
        input (N, C_in, H, W), H and W multiples of ``size_divisor``
        (``2 ** (num_branches_last + 1)``, 32 for four branches) -> tuple
        with one (N, C_0, H/4, W/4) tensor, the highest-resolution branch
        (after the IterativeHead when ``with_head``).
    """

    def __init__(self,
                 extra: dict,
                 in_channels: int = 3,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 cbam_position: str = 'pooled',
                 cbam_blocks: str = 'all',
                 cbam_reduction_ratio: int = 16,
                 cbam_spatial_kernel_size: int = 7,
                 cbam_clamp_hidden: bool = True,
                 init_cfg=HRNET_INIT_CFG):
        self._check_extra(extra)
        if with_cp:
            raise ValueError(
                "with_cp=True fails in every forward: MMPose's "
                'ConditionalChannelWeighting reads `requires_grad` of its '
                'list of branches; allowed: with_cp=False')
        if cbam_blocks not in CBAM_BLOCKS:
            raise ValueError(f'cbam_blocks = {cbam_blocks!r} is unknown; '
                             f'allowed: {", ".join(CBAM_BLOCKS)}')
        super().__init__(
            extra,
            in_channels=in_channels,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            with_cp=with_cp,
            init_cfg=init_cfg)
        self.cbam_blocks = cbam_blocks
        spec = extra['stages_spec']
        for i in range(extra['num_stages']):
            for m, module in enumerate(getattr(self, f'stage{i}')):
                for b, ccw in enumerate(module.layers):
                    if cbam_blocks == 'first_per_stage' and (m or b):
                        continue
                    if cbam_blocks == 'first_per_module' and b:
                        continue
                    ccw.cross_resolution_weighting = \
                        CBAMCrossResolutionWeighting(
                            ccw.cross_resolution_weighting.channels,
                            ratio=spec['reduce_ratios'][i],
                            cbam_position=cbam_position,
                            cbam_reduction_ratio=cbam_reduction_ratio,
                            cbam_spatial_kernel_size=cbam_spatial_kernel_size,
                            cbam_clamp_hidden=cbam_clamp_hidden,
                            conv_cfg=conv_cfg,
                            norm_cfg=norm_cfg)
        self.size_divisor = 2**(spec['num_branches'][-1] + 1)

    @staticmethod
    def _check_extra(extra: dict) -> None:
        """Raise ValueError naming the field for a malformed ``extra``."""
        check_lite_extra(extra, _SPEC_KEYS,
                         'conditional channel weighting blocks')
        for i, module_type in enumerate(extra['stages_spec']['module_type']):
            if str(module_type).upper() != 'LITE':
                raise ValueError(
                    f"extra['stages_spec']['module_type'][{i}] = "
                    f'{module_type!r}: CBAMs sit in the cross-resolution '
                    "weighting, which only LITE modules have; allowed: 'LITE'")
