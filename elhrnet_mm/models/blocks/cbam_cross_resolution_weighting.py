"""Lite-HRNet's cross-resolution weighting with a CBAM per resolution.

"Lightweight Human Pose Estimation with Attention Mechanism"
(CBAM-LiteHRNet), Sec. III-B/C and Fig. 1: a CBAM (Woo et al., ECCV 2018,
Eq. 1-2 of the paper) on each resolution's features before the fully
connected (1x1) layers of Lite-HRNet's cross-resolution weighting (Yu et al.,
"Lite-HRNet: A Lightweight High-Resolution Network", CVPR 2021).
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmpose.models.backbones.litehrnet import CrossResolutionWeighting
from mmpose.registry import MODELS

from .cbam import CBAM, BranchCBAMs, StackedCBAM
from .nearest_upsample import scale_by_upsampled

#: Where the CBAMs look, see :class:`CBAMCrossResolutionWeighting`.
CBAM_POSITIONS = ('pooled', 'full', 'main')


@MODELS.register_module()
class CBAMCrossResolutionWeighting(CrossResolutionWeighting):
    """MMPose's ``CrossResolutionWeighting`` with one :class:`CBAM` per branch.

    Lite-HRNet's unit pools every branch ``X_b`` (N, C_b, H_b, W_b) to the
    smallest branch's size, concatenates them, and turns them into one
    weight map per branch with two 1x1 ConvModules (``conv1``: sum C_b ->
    sum C_b / ratio, ReLU; ``conv2``: back to sum C_b, sigmoid); each
    ``X_b`` is multiplied by its (nearest-upsampled) weights. The paper adds
    a CBAM on each resolution before those 1x1 layers; ``cbam_position``
    says which features the CBAMs see:

    * ``'pooled'`` (default, Fig. 1): ``CBAM_b(pool(X_b))`` feeds ``conv1``;
      the weights still multiply the unrefined ``X_b``.
    * ``'full'``: ``pool(CBAM_b(X_b))`` feeds ``conv1`` (CBAM at the branch's
      own resolution); the weights multiply the unrefined ``X_b``.
    * ``'main'``: ``X_b`` is replaced by ``CBAM_b(X_b)`` before the unit, so
      the refined features are also what the weights multiply.

    ``conv1``/``conv2`` keep MMPose's names, so Lite-HRNet weights load;
    the CBAMs are ``cbams.<b>``.

    Args:
        channels (Sequence[int]): C_b of every branch, highest resolution
            first.
        ratio (int): reduction of ``conv1`` (Lite-HRNet's ``reduce_ratio``).
            Default: 16.
        cbam_position (str): one of ``'pooled'``, ``'full'``, ``'main'``.
            Default: ``'pooled'``.
        cbam_reduction_ratio (int): r of every CBAM's channel MLP, hidden
            width ``C_b // r``. Default: 16.
        cbam_spatial_kernel_size (int): k of the CBAMs' spatial conv.
            Default: 7.
        cbam_clamp_hidden (bool): where ``C_b < r`` (hidden width 0), use a
            hidden width of 1 (the CBAM is built with ``r = C_b``); False
            raises ValueError instead. Default: True.
        conv_cfg (dict, optional): conv config of all convs. Default: None.
        norm_cfg (dict, optional): norm of ``conv1``/``conv2`` and of the
            CBAMs' spatial convs. Default: None (as MMPose's class; Lite-HRNet
            passes BN).
        act_cfg (tuple[dict]): activations of ``conv1`` and ``conv2``.
            Default: (ReLU, Sigmoid).
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input: list of (N, C_b, H_b, W_b), every ``H_b``/``W_b`` a multiple
        of the last (smallest) branch's size -> output: list of the same
        shapes.
    """

    def __init__(self,
                 channels: Sequence[int],
                 ratio: int = 16,
                 cbam_position: str = 'pooled',
                 cbam_reduction_ratio: int = 16,
                 cbam_spatial_kernel_size: int = 7,
                 cbam_clamp_hidden: bool = True,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg=(dict(type='ReLU'), dict(type='Sigmoid')),
                 init_cfg: Optional[dict] = None):
        if cbam_position not in CBAM_POSITIONS:
            raise ValueError(f'cbam_position = {cbam_position!r} is unknown; '
                             f'allowed: {", ".join(CBAM_POSITIONS)}')
        if not isinstance(cbam_reduction_ratio, int) or \
                isinstance(cbam_reduction_ratio, bool) or \
                cbam_reduction_ratio < 1:
            raise ValueError('cbam_reduction_ratio must be a positive int, '
                             f'got {cbam_reduction_ratio!r}')
        if not cbam_clamp_hidden:
            for b, c in enumerate(channels):
                if c < cbam_reduction_ratio:
                    raise ValueError(
                        f'channels[{b}] = {c} is smaller than '
                        f'cbam_reduction_ratio ({cbam_reduction_ratio}), so '
                        "the CBAM's hidden width would be 0; allowed: "
                        f'cbam_reduction_ratio <= {min(channels)}, or '
                        'cbam_clamp_hidden=True (hidden width 1)')
        super().__init__(
            list(channels),
            ratio=ratio,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)
        self.cbam_position = cbam_position
        self.cbams = BranchCBAMs(
            CBAM(
                c,
                reduction_ratio=min(cbam_reduction_ratio, c),
                spatial_kernel_size=cbam_spatial_kernel_size,
                norm_cfg=norm_cfg,
                conv_cfg=conv_cfg) for c in channels)

    def switch_to_deploy(self) -> None:
        """With ``'pooled'`` CBAMs (all on the concatenated maps of the
        smallest branch's size) whose spatial BN is folded, the
        :class:`~.BranchCBAMs` become one :class:`~.StackedCBAM` (same
        input and output; a child replaced, ``self`` stays)."""
        if self.cbam_position == 'pooled' and StackedCBAM.can_stack(
                self.cbams):
            self.cbams = StackedCBAM(self.cbams)

    def pool_to_smallest(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        """Every branch but the last average-pooled to the last (smallest)
        one's size, then the last (MMPose's pooling; the ONNX export form
        pools with constant kernels, ``deploy/fixed_size_pooling.py``)."""
        mini_size = x[-1].shape[-2:]
        return [F.adaptive_avg_pool2d(s, mini_size)
                for s in x[:-1]] + [x[-1]]

    def _refine(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        return [cbam(s) for s, cbam in zip(x, self.cbams)]

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        if self.cbam_position == 'main':
            x = self._refine(x)
        seen = self._refine(x) if self.cbam_position == 'full' else x
        pooled = torch.cat(self.pool_to_smallest(seen), dim=1)
        if self.cbam_position == 'pooled':
            pooled = self.cbams(pooled)
        weights = self.conv2(self.conv1(pooled))
        weights = torch.split(weights, self.channels, dim=1)
        return [scale_by_upsampled(s, a) for s, a in zip(x, weights)]
