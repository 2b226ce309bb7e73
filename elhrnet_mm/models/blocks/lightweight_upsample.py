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
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.models.backbones.utils import SELayer
from mmpose.registry import MODELS

#: How the SE output is fused with the features it attends.
FUSIONS = ('mul_add', 'mul')
#: Where the SE attention sits.
SE_POSITIONS = ('expanded', 'output')


class SubpixelDepthwiseDeconv(nn.Module):
    """A depthwise stride-2 ``nn.ConvTranspose2d`` computed as one
    depthwise conv with four outputs per channel and a pixel shuffle.

    Output pixel ``(2m + r_h, 2n + r_w)`` of a stride-2 transposed conv only
    meets the kernel taps ``t`` with ``t = r + p (mod 2)`` (``p`` its
    padding), at input offsets ``(r + p - t) / 2``: each of the four phases
    ``(r_h, r_w)`` is an ordinary convolution of the input with a sub-kernel
    (the sub-pixel decomposition of a transposed conv). The four phase
    kernels of each channel are stacked as one depthwise conv ``C -> 4C``
    (zero taps where a phase has none), and ``pixel_shuffle(2)`` interleaves
    the phases. Same values as the transposed conv (different summation
    order), without PyTorch's slow CPU path for depthwise transposed convs
    (docs/speed.md). Built from a transposed conv by
    :meth:`from_deconv`; what
    :meth:`LightweightUpsampleBlock.switch_to_deploy` puts in its place.

    Shapes:
        input (N, C, H, W) -> output (N, C, 2H, 2W), the transposed conv's
        output size.
    """

    def __init__(self, weight: torch.Tensor, bias: Optional[torch.Tensor],
                 pad: tuple):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = None if bias is None else nn.Parameter(bias)
        self.pad = pad  # (left, right, top, bottom) for F.pad

    @staticmethod
    def _phase_taps(kernel: int, padding: int):
        """``taps[r]``: (tap t, input offset d) pairs of output phase r."""
        return [[(t, (r + padding - t) // 2) for t in range(kernel)
                 if (r + padding - t) % 2 == 0] for r in range(2)]

    @classmethod
    @torch.no_grad()
    def from_deconv(cls, deconv: nn.ConvTranspose2d
                    ) -> 'SubpixelDepthwiseDeconv':
        """The equivalent of a depthwise stride-2 transposed conv whose
        output is exactly twice its input (``LightweightUpsampleBlock``'s
        kernel/padding table)."""
        c = deconv.in_channels
        if (deconv.groups != c or deconv.out_channels != c
                or tuple(deconv.stride) != (2, 2)
                or tuple(deconv.dilation) != (1, 1)):
            raise ValueError('SubpixelDepthwiseDeconv needs a depthwise '
                             'stride-2 undilated ConvTranspose2d, got '
                             f'{deconv}')
        taps = [
            cls._phase_taps(k, p)
            for k, p in zip(deconv.kernel_size, deconv.padding)
        ]
        offsets = [[d for phase in axis for _, d in phase] for axis in taps]
        lo = [min(o) for o in offsets]
        size = [max(o) - m + 1 for o, m in zip(offsets, lo)]
        weight = deconv.weight.new_zeros(c, 2, 2, *size)
        for rh, phase_h in enumerate(taps[0]):
            for rw, phase_w in enumerate(taps[1]):
                for th, dh in phase_h:
                    for tw, dw in phase_w:
                        weight[:, rh, rw, dh - lo[0], dw - lo[1]] = \
                            deconv.weight[:, 0, th, tw]
        bias = (None if deconv.bias is None else
                deconv.bias.detach().repeat_interleave(4))
        pad = (-lo[1], size[1] - 1 + lo[1], -lo[0], size[0] - 1 + lo[0])
        return cls(weight.view(4 * c, 1, *size), bias, pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # channels_last: the depthwise conv and the pixel shuffle are both
        # fast in that layout on the CPU (the output stays channels_last)
        x = F.pad(x, self.pad).contiguous(memory_format=torch.channels_last)
        phases = F.conv2d(x, self.weight, self.bias, groups=x.shape[1])
        return F.pixel_shuffle(phases, 2)


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
        # set by switch_to_deploy: the project conv takes the SE gate
        self.gate_in_project = False

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The factor the features are multiplied by: ``A(x) + 1`` for
        ``'mul_add'`` (``x * A + x = x * (A + 1)``, one pass over the map
        instead of two), ``A(x)`` for ``'mul'``; shape (N, C, 1, 1). ``A`` is
        MMPose's ``SELayer`` (pool, two 1x1 ConvModules)."""
        se = self.se
        attention = se.conv2(se.conv1(se.global_avgpool(x)))
        return attention + 1 if self.fusion == 'mul_add' else attention

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        """SE attention fused by ``fusion``: ``x * A(x) (+ x)``."""
        return x * self.gate(x)

    def switch_to_deploy(self) -> None:
        """Compute the depthwise transposed conv (with its BN folded in, if
        :func:`~elhrnet_mm.deploy.fuse_for_inference` did) as a
        :class:`SubpixelDepthwiseDeconv`; with the SE on the expanded
        features and ``project`` a bare 1x1 conv (its BN folded), scale the
        project conv's input channels by the gate instead of the map
        (:meth:`project_gated`)."""
        if isinstance(self.upsample.conv, nn.ConvTranspose2d):
            self.upsample.conv = SubpixelDepthwiseDeconv.from_deconv(
                self.upsample.conv)
        project = self.project
        self.gate_in_project = (
            self.se_position == 'expanded' and not project.with_norm
            and not project.with_activation
            and type(project.conv) is nn.Conv2d
            and project.conv.groups == 1)

    def project_gated(self, x: torch.Tensor,
                      gate: torch.Tensor) -> torch.Tensor:
        """``project(x * gate)`` as one batched matrix product with the
        per-sample kernels ``W * gate^T``: the gate multiplies the (C_out,
        C_mid) kernel instead of the (C_mid, H, W) map. Keeps the memory
        layout of ``x`` (NCHW or channels_last).

        Shapes:
            x (N, C_mid, H, W), gate (N, C_mid, 1, 1) -> (N, C_out, H, W).
        """
        conv = self.project.conv
        n, c, h, w = x.shape
        kernels = conv.weight.view(1, -1, c) * gate.view(n, 1, c)
        bias = conv.bias
        if x.is_contiguous(memory_format=torch.channels_last) and \
                not x.is_contiguous():
            pixels = x.permute(0, 2, 3, 1).reshape(n, h * w, c)  # a view
            out = torch.bmm(pixels, kernels.transpose(1, 2))
            if bias is not None:
                out = out + bias
            return out.view(n, h, w, -1).permute(0, 3, 1, 2)
        out = torch.bmm(kernels, x.reshape(n, c, h * w))
        if bias is not None:
            out = out + bias.view(1, -1, 1)
        return out.view(n, -1, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.upsample(self.expand(x))
        if self.gate_in_project:
            return self.project_gated(x, self.gate(x))
        if self.se_position == 'expanded':
            return self.project(self.attend(x))
        return self.attend(self.project(x))
