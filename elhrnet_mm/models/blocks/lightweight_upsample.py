"""Lightweight upsampling block (LPB) of MobilePoseNet.

"Designing Compact Convolutional Filters for Lightweight Human
Pose Estimation", Wireless Communications and Mobile Computing 2021,
Sec. 3.1 and Fig. 3(b): a bottleneck-style replacement of SimpleBaseline's
transposed convolution, with SENet channel attention fused by
multiply-and-add.
"""
import copy
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.models.backbones.utils import SELayer
from mmpose.registry import MODELS

from .phase_wise_lightweight_upsample import PhaseWiseLightweightUpsample
from .subpixel_depthwise_deconv import SubpixelDepthwiseDeconv

#: How the SE output is fused with the features it attends.
FUSIONS = ('mul_add', 'mul')
#: Where the SE attention sits.
SE_POSITIONS = ('expanded', 'output')


@MODELS.register_module()
class LightweightUpsampleBlock(BaseModule):
    """Pointwise expand -> depthwise transposed conv (x2) -> pointwise
    project, with SE channel attention fused as ``F = X' * A(X') + X'``.

    1. ``expand``: 1x1 conv ``C_in -> C_mid`` + norm + act ("expand the
       low-dimensional information to high-dimensional").
    2. ``upsample``: depthwise transposed conv ``C_mid -> C_mid``, kernel
       ``k``, stride 2 (padding chosen so the output is exactly 2x) + norm +
       act: the spatial step, one filter per channel.
    3. ``project``: 1x1 conv ``C_mid -> C_out`` + norm, no activation (a
       linear bottleneck, as in MobileNetV2/V3).
    4. ``se``: MMPose's SENet ``SELayer`` (ReLU, sigmoid) giving
       ``X' * A(X')``, fused with ``X'`` by ``'mul_add'`` (the paper's
       "multiplied and summed": ``X' * A + X'``) or ``'mul'`` (plain SENet).
       ``X'`` is, by ``se_position``, the upsampled expanded features
       (``'expanded'``, between steps 2 and 3, where MobileNetV3's
       bottleneck has its SE) or the projected output (``'output'``, after
       step 3). The paper's text does not settle it (docs/mobileposenet.md).

    Parameters without norm biases and SE:
    ``C_in*C_mid + k^2*C_mid + C_mid*C_out`` versus ``k^2*C_in*C_out`` for a
    transposed conv (paper Sec. 3.1).

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        mid_channels (int): C_mid, the expanded width.
        kernel_size (int): kernel of the transposed conv, 2, 3 or 4 (4 with
            padding 1 as SimpleBaseline's deconvs). Default: 4.
        se_position (str): ``'expanded'`` or ``'output'``.
            Default: ``'expanded'``.
        se_ratio (int): SE squeeze ratio: ``C // se_ratio`` hidden channels
            of the ``C`` attended ones (MobileNetV3 uses 4, SENet 16).
            Default: 4.
        fusion (str): ``'mul_add'`` or ``'mul'``. Default: ``'mul_add'``.
        conv_cfg (dict, optional): config of the 1x1 convs. Default: None.
        norm_cfg (dict): norm layers. Default: ``dict(type='BN')``.
        act_cfg (dict): activation after expand and upsample.
            Default: ``dict(type='ReLU')``.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, 2H, 2W).
    """

    _PADDING = {2: (0, 0), 3: (1, 1), 4: (1, 0)}  # kernel: (pad, out_pad)

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 mid_channels: int,
                 kernel_size: int = 4,
                 se_position: str = 'expanded',
                 se_ratio: int = 4,
                 fusion: str = 'mul_add',
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('in_channels', in_channels),
                            ('out_channels', out_channels),
                            ('mid_channels', mid_channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name} must be a positive int, got '
                                 f'{value!r}')
        if kernel_size not in self._PADDING:
            raise ValueError(f'kernel_size must be one of '
                             f'{tuple(self._PADDING)}, got {kernel_size!r}')
        if se_position not in SE_POSITIONS:
            raise ValueError(f'se_position must be one of {SE_POSITIONS}, '
                             f'got {se_position!r}')
        attended = mid_channels if se_position == 'expanded' else out_channels
        if not isinstance(se_ratio, int) or not 1 <= se_ratio <= attended:
            raise ValueError(
                f'se_ratio must be an int in 1..{attended} (the channels '
                f'attended at se_position={se_position!r}), got {se_ratio!r}')
        if fusion not in FUSIONS:
            raise ValueError(f'fusion must be one of {FUSIONS}, got '
                             f'{fusion!r}')
        self.fusion = fusion
        self.se_position = se_position
        padding, output_padding = self._PADDING[kernel_size]
        self.expand = ConvModule(
            in_channels, mid_channels, 1, conv_cfg=conv_cfg,
            norm_cfg=copy.deepcopy(norm_cfg), act_cfg=copy.deepcopy(act_cfg))
        self.upsample = ConvModule(
            mid_channels, mid_channels, kernel_size, stride=2,
            padding=padding, groups=mid_channels,
            conv_cfg=dict(type='deconv', output_padding=output_padding),
            norm_cfg=copy.deepcopy(norm_cfg), act_cfg=copy.deepcopy(act_cfg))
        self.project = ConvModule(
            mid_channels, out_channels, 1, conv_cfg=conv_cfg,
            norm_cfg=copy.deepcopy(norm_cfg), act_cfg=None)
        self.se = SELayer(attended, ratio=se_ratio)

    def se_gate(self, pooled: torch.Tensor) -> torch.Tensor:
        """The factor the SE attention multiplies ``X`` by, from ``X``'s
        global average pool: ``A(X) + 1`` for ``'mul_add'`` (``X * A + X =
        X * (A + 1)``, one pass over the map instead of two) or ``A(X)`` for
        ``'mul'``. ``A`` is MMPose's ``SELayer`` after its pooling (two 1x1
        ConvModules).

        Shapes:
            pooled (N, C, 1, 1) -> (N, C, 1, 1).
        """
        gate = self.se.conv2(self.se.conv1(pooled))
        return gate + 1 if self.fusion == 'mul_add' else gate

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        """SE attention fused by ``fusion``: ``X * se_gate(pool(X))``.

        Shapes:
            x (N, C, H, W) -> same.
        """
        return x * self.se_gate(self.se.global_avgpool(x))

    def switch_to_deploy(self) -> Optional[PhaseWiseLightweightUpsample]:
        """The deploy form: the depthwise transposed conv (with its BN
        folded in, if :func:`~elhrnet_mm.deploy.fuse_for_inference` did)
        becomes a :class:`~.SubpixelDepthwiseDeconv` and the block a
        :class:`~.PhaseWiseLightweightUpsample`, which keeps the upsampled
        map as its four quarter-size phases until the ``C_out``-channel
        result. This module is consumed. None if the upsampling is not a
        transposed conv (already switched)."""
        if not isinstance(self.upsample.conv, nn.ConvTranspose2d):
            return None
        self.upsample.conv = SubpixelDepthwiseDeconv.from_deconv(
            self.upsample.conv)
        return PhaseWiseLightweightUpsample(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.upsample(self.expand(x))
        if self.se_position == 'expanded':
            return self.project(self.attend(x))
        return self.attend(self.project(x))
