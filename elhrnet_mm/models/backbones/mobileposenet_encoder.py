"""MobilePoseNet's encoder: the first layers of the paper's MobileNetV3-Large.

"Designing Compact Convolutional Filters for Lightweight Human
Pose Estimation" (MobilePoseNet), Wireless Communications and Mobile
Computing 2021, Sec. 1 and 3.2: "the first 13 layers of MobileNetV3" = the
stem plus 12 bottlenecks, ending at C4 (112 channels, stride 16). The layer
table is MobileNetV3-Large's (Howard et al., ICCV 2019, Table 1).
"""
import copy
from fractions import Fraction
from typing import Optional, Sequence

from mmpose.models.backbones import MobileNetV3
from mmpose.models.backbones.utils import InvertedResidual, make_divisible
from mmpose.registry import MODELS

from .mixins import ChainableTrainMixin

#: MobileNetV3-Large bottlenecks (Howard et al. 2019, Table 1):
#: [kernel, expanded (mid) channels, out channels, SE, activation, stride].
MOBILENETV3_LARGE_BOTTLENECKS = [[3, 16, 16, False, 'ReLU', 1],
                                 [3, 64, 24, False, 'ReLU', 2],
                                 [3, 72, 24, False, 'ReLU', 1],
                                 [5, 72, 40, True, 'ReLU', 2],
                                 [5, 120, 40, True, 'ReLU', 1],
                                 [5, 120, 40, True, 'ReLU', 1],
                                 [3, 240, 80, False, 'HSwish', 2],
                                 [3, 200, 80, False, 'HSwish', 1],
                                 [3, 184, 80, False, 'HSwish', 1],
                                 [3, 184, 80, False, 'HSwish', 1],
                                 [3, 480, 112, True, 'HSwish', 1],
                                 [3, 672, 112, True, 'HSwish', 1],
                                 [5, 672, 160, True, 'HSwish', 2],
                                 [5, 960, 160, True, 'HSwish', 1],
                                 [5, 960, 160, True, 'HSwish', 1]]  # yapf: disable


@MODELS.register_module()
class MobilePoseNetEncoder(ChainableTrainMixin, MobileNetV3):
    """MobileNetV3-Large as in the paper, truncated after ``num_layers``
    bottlenecks (12 by default: MobilePoseNet's "first 13 layers").

    MMPose's :class:`~mmpose.models.MobileNetV3` ``'big'`` differs from the
    paper (docs/mobileposenet.md): it always has an expand conv (an extra
    1x1 16->16 in the first bottleneck), its SE squeezes to ``mid / 4``
    channels and gates with ``clamp((x + 1) / 2, 0, 1)``, and its 13th
    bottleneck keeps stride 16. This subclass keeps MMPose's stem
    (``conv1``), ``InvertedResidual``, ``SELayer``, ``out_indices``,
    ``frozen_stages`` and ``norm_eval``, and builds the paper's table:
    expand conv only when ``mid != in``, SE squeeze
    ``make_divisible(mid // 4, 8)`` with the hard-sigmoid gate
    ``relu6(x + 3) / 6``, stride 32 from the 13th bottleneck. The module
    names are MMPose's, which are also mmpretrain's ``MobileNetV3('large')``
    names except the stem (mmpretrain ``layer0``, here ``conv1``; a
    checkpoint's ``layer0.*`` keys are loaded into ``conv1``), so
    mmpretrain's ImageNet checkpoint initialises the encoder through
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    Args:
        num_layers (int): bottlenecks built, 1 to 15. Default: 12.
        out_indices (Sequence[int]): indices of the bottlenecks whose
            outputs are returned (0 is the first; negative counts from the
            last built). Default: (-1, ).
        norm_cfg (dict): norm layers; the default is the BN setting of the
            ImageNet models (eps 1e-3, momentum 0.01).
        conv_cfg, frozen_stages, norm_eval, with_cp, init_cfg: as MMPose's
            ``MobileNetV3``.

    Shapes:
        input (N, 3, H, W) -> tuple of (N, C_i, H / s_i, W / s_i) for the
        ``out_indices``; with the defaults one (N, 112, H/16, W/16) tensor
        (rounded up for sizes that are not multiples of 16).
    """

    def __init__(self,
                 num_layers: int = 12,
                 out_indices: Sequence[int] = (-1, ),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', eps=1e-3, momentum=0.01),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg=[
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm'])
                 ]):
        most = len(MOBILENETV3_LARGE_BOTTLENECKS)
        if not isinstance(num_layers, int) or not 1 <= num_layers <= most:
            raise ValueError(f'num_layers must be an int in 1..{most}, got '
                             f'{num_layers!r}')
        for index in out_indices:
            if index not in range(-num_layers, num_layers):
                raise ValueError(
                    f'out_indices entry {index} is out of range; allowed: '
                    f'-{num_layers}..{num_layers - 1} for {num_layers} '
                    'bottlenecks')
        if frozen_stages not in range(-1, num_layers):
            raise ValueError(f'frozen_stages must be in -1..{num_layers - 1}'
                             f', got {frozen_stages!r}')
        self.arch_settings = {
            'large': MOBILENETV3_LARGE_BOTTLENECKS[:num_layers]
        }
        super().__init__(
            arch='large',
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            out_indices=tuple(out_indices),
            frozen_stages=frozen_stages,
            norm_eval=norm_eval,
            with_cp=with_cp,
            init_cfg=init_cfg)
        self._register_load_state_dict_pre_hook(self._stem_from_layer0)

    def _make_layer(self) -> list:
        """The paper's bottlenecks from MMPose's ``InvertedResidual``."""
        layers = []
        for i, (kernel, mid, out, with_se, act, stride) in enumerate(
                self.arch_settings[self.arch]):
            se_cfg = None
            if with_se:
                squeeze = make_divisible(mid // 4, 8)
                se_cfg = dict(
                    channels=mid,
                    # SELayer squeezes to int(channels / ratio): exact
                    ratio=Fraction(mid, squeeze),
                    act_cfg=(dict(type='ReLU'),
                             dict(type='HSigmoid', bias=3.0, divisor=6.0)))
            layer = InvertedResidual(
                in_channels=self.in_channels,
                out_channels=out,
                mid_channels=mid,
                kernel_size=kernel,
                stride=stride,
                se_cfg=se_cfg,
                with_expand_conv=mid != self.in_channels,
                conv_cfg=self.conv_cfg,
                norm_cfg=copy.deepcopy(self.norm_cfg),
                act_cfg=dict(type=act),
                with_cp=self.with_cp)
            self.in_channels = out
            self.add_module(f'layer{i + 1}', layer)
            layers.append(f'layer{i + 1}')
        return layers

    @staticmethod
    def _stem_from_layer0(state_dict, prefix, *args) -> None:
        """Load mmpretrain's stem (``layer0.*``) into ``conv1.*``."""
        for key in [k for k in state_dict if k.startswith(prefix + 'layer0.')]:
            new = prefix + 'conv1.' + key[len(prefix + 'layer0.'):]
            state_dict.setdefault(new, state_dict.pop(key))
