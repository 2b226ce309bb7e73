"""A depthwise stride-2 transposed convolution as four phase convolutions.

The inference form of MobilePoseNet's upsampling step ("Designing Compact
Convolutional Filters for Lightweight Human Pose Estimation", Wireless
Communications and Mobile Computing 2021, Sec. 3.1: the depthwise transposed
convolution of the lightweight upsampling block). Output pixel
``(2m + r_h, 2n + r_w)`` of a stride-2 transposed conv with padding ``p``
only meets the kernel taps ``t = r + p (mod 2)``, at input offsets
``(r + p - t) / 2``: each of the four *phases* ``(r_h, r_w)`` of the output
is an ordinary convolution of the input with a sub-kernel (the sub-pixel
decomposition of a transposed conv). For a depthwise transposed conv each
phase is a depthwise conv with one output per channel, the fast depthwise
path of the CPU libraries (PyTorch's CPU kernel for grouped
``ConvTranspose2d`` and a depthwise conv with four outputs per channel are
both several times slower, docs/speed.md).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

#: Phase order: phase ``i`` holds output pixels ``(2m + i // 2, 2n + i % 2)``.
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def interleave_phases(phases: Sequence[torch.Tensor]) -> torch.Tensor:
    """The map whose four phases (:data:`PHASES` order) are ``phases``.

    ``out[:, :, 2m + r_h, 2n + r_w] = phases[2 r_h + r_w][:, :, m, n]``, i.e.
    ``pixel_shuffle`` of the phases stacked per channel, computed as four
    strided copies into an output in the phases' memory layout (NCHW or
    channels_last); under tracing (ONNX export, FLOP counters) it emits
    ``stack`` + ``pixel_shuffle`` (ONNX ``DepthToSpace``).

    Shapes:
        four (N, C, H, W) -> (N, C, 2H, 2W).
    """
    if len(phases) != 4:
        raise ValueError(f'interleave_phases needs 4 phases, got '
                         f'{len(phases)}')
    if torch.jit.is_tracing():
        return F.pixel_shuffle(torch.stack(list(phases), 2).flatten(1, 2), 2)
    n, c, h, w = phases[0].shape
    if phases[0].is_contiguous(memory_format=torch.channels_last) and \
            not phases[0].is_contiguous():
        out = phases[0].new_empty(n, h, 2, w, 2, c)
        for (rh, rw), phase in zip(PHASES, phases):
            out[:, :, rh, :, rw].copy_(phase.permute(0, 2, 3, 1))
        return out.view(n, 2 * h, 2 * w, c).permute(0, 3, 1, 2)
    out = phases[0].new_empty(n, c, h, 2, w, 2)
    for (rh, rw), phase in zip(PHASES, phases):
        out[:, :, :, rh, :, rw].copy_(phase)
    return out.view(n, c, 2 * h, 2 * w)


class SubpixelDepthwiseDeconv(nn.Module):
    """A depthwise stride-2 ``nn.ConvTranspose2d`` whose output is exactly
    twice its input, computed as four depthwise convs (one per output phase)
    and :func:`interleave_phases`.

    Every phase kernel has the common size of the phases' input offsets
    (3x3 for kernel 4, padding 1; zero where a phase has no tap), so the four
    convs read the same (padded) input. Same values as the transposed conv
    (different summation order). Built from a transposed conv by
    :meth:`from_deconv`;
    :meth:`~elhrnet_mm.models.blocks.LightweightUpsampleBlock.switch_to_deploy`
    puts it in place of the block's transposed conv, and the block works on
    :meth:`phases` directly (everything after the upsampling is per pixel or
    a global pooling, so it runs on the quarter-size phases).

    Args:
        weight (Tensor): phase kernels, (4, C, 1, kh, kw), :data:`PHASES`
            order.
        bias (Tensor, optional): (C, ), the transposed conv's bias.
        padding (tuple): (left, right, top, bottom) zero padding of the
            input shared by the four phase convs.

    Shapes:
        input (N, C, H, W) -> output (N, C, 2H, 2W); :meth:`phases` gives
        four (N, C, H, W).
    """

    def __init__(self, weight: torch.Tensor, bias: Optional[torch.Tensor],
                 padding: Tuple[int, int, int, int]):
        super().__init__()
        if weight.dim() != 5 or weight.shape[0] != 4 or weight.shape[2] != 1:
            raise ValueError('SubpixelDepthwiseDeconv weight must have shape '
                             f'(4, C, 1, kh, kw), got {tuple(weight.shape)}')
        self.phase_weights = nn.ParameterList(
            nn.Parameter(w.clone()) for w in weight)
        self.bias = None if bias is None else nn.Parameter(bias.clone())
        left, right, top, bottom = padding
        # symmetric padding is the convs' own (no padded copy of the input)
        symmetric = (left, top) == (right, bottom)
        self.conv_padding = (top, left) if symmetric else (0, 0)
        self.pad = None if symmetric else tuple(padding)

    @staticmethod
    def _phase_taps(kernel: int, padding: int) -> List[List[Tuple[int, int]]]:
        """``taps[r]``: (tap t, input offset d) pairs of output phase r."""
        return [[(t, (r + padding - t) // 2) for t in range(kernel)
                 if (r + padding - t) % 2 == 0] for r in range(2)]

    @classmethod
    @torch.no_grad()
    def from_deconv(cls,
                    deconv: nn.ConvTranspose2d) -> 'SubpixelDepthwiseDeconv':
        """The equivalent of a depthwise stride-2 undilated transposed conv
        whose output is exactly twice its input (``LightweightUpsampleBlock``'s
        kernel/padding table)."""
        c = deconv.in_channels
        if (deconv.groups != c or deconv.out_channels != c
                or tuple(deconv.stride) != (2, 2)
                or tuple(deconv.dilation) != (1, 1)):
            raise ValueError('SubpixelDepthwiseDeconv needs a depthwise '
                             'stride-2 undilated ConvTranspose2d, got '
                             f'{deconv}')
        for k, p, op in zip(deconv.kernel_size, deconv.padding,
                            deconv.output_padding):
            if k - 2 * p + op != 2:
                raise ValueError(
                    'SubpixelDepthwiseDeconv needs an output of exactly twice '
                    f'the input (kernel - 2 * padding + output_padding == 2), '
                    f'got kernel {k}, padding {p}, output_padding {op}')
        taps = [
            cls._phase_taps(k, p)
            for k, p in zip(deconv.kernel_size, deconv.padding)
        ]
        offsets = [[d for phase in axis for _, d in phase] for axis in taps]
        lo = [min(o) for o in offsets]
        size = [max(o) - m + 1 for o, m in zip(offsets, lo)]
        weight = deconv.weight.new_zeros(4, c, 1, *size)
        for i, (rh, rw) in enumerate(PHASES):
            for th, dh in taps[0][rh]:
                for tw, dw in taps[1][rw]:
                    weight[i, :, 0, dh - lo[0], dw - lo[1]] = \
                        deconv.weight[:, 0, th, tw]
        padding = (-lo[1], size[1] - 1 + lo[1], -lo[0], size[0] - 1 + lo[0])
        return cls(weight, deconv.bias, padding)

    def phases(self, x: torch.Tensor) -> List[torch.Tensor]:
        """The four output phases, :data:`PHASES` order, in the memory
        layout of ``x``."""
        if self.pad is not None:
            x = F.pad(x, self.pad)
        return [
            F.conv2d(x, w, self.bias, padding=self.conv_padding,
                     groups=x.shape[1]) for w in self.phase_weights
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return interleave_phases(self.phases(x))
