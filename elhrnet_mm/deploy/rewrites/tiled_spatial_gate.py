"""CBAM's spatial ``k x k`` conv as a strided conv and a depth-to-space, for
graph runtimes.

CBAM's spatial gate (Woo et al., ECCV 2018, Eq. 2; EL-HRNet, Sensors 2024,
24, 396, Eq. 6) is ``F_s = sigmoid(conv_kxk([max_c(F'); mean_c(F')]) + b)``,
a conv with one output channel over a 2-channel map. OpenVINO runs such a
conv at a few GMAC/s, also in :class:`~.cbam_conv_gates.ConvGateCBAM`'s form
(a depthwise ``k x k`` conv and a 1x1 sum: ~46 + 27 us per LA-Basicblock on
EL-HRNet-W32's 64x48 branch; docs/speed.md, "where the time goes").

With ``r`` dividing H and W, the same conv is computed tile by tile: output
pixel ``(P r + i, Q r + j)`` reads the input window ``P r + i + [-p, p]``
(``p = k // 2``), which lies in ``P r + [-p, r - 1 + p]`` for every ``i`` in
``[0, r)``. A conv with stride ``r``, padding ``p``, kernel
``k + r - 1`` and ``r^2`` output channels, output channel ``i r + j``
holding the ``k x k`` kernel shifted by ``(i, j)`` and zeros elsewhere,

    T[o r^2 + i r + j, :, i:i+k, j:j+k] = W[o],

computes all ``r^2`` sub-pixels of every tile at once, (N, r^2, H/r, W/r);
the sigmoid acts per element, and ``pixel_shuffle(., r)`` (``DepthToSpace``,
CRD order) puts the tiles back, (N, 1, H, W). Exact: the added kernel
entries are zeros multiplying finite values. OpenVINO runs the strided conv
(16 output channels for ``r = 4``) as a dense conv: ~22 + 6 us
(DepthToSpace) instead of ~73 us per 64x48 block.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ...models.blocks.cbam import CBAM
from .cbam_conv_gates import ConvGateCBAM, summed_mlp_gate


def tiled_kernel(weight: torch.Tensor, block: int) -> torch.Tensor:
    """The stride-``block`` kernel of the module docstring.

    Args:
        weight (Tensor): (O, I, k, k) kernel of a stride-1 conv with odd
            ``k`` and padding ``k // 2`` (I per group for a grouped conv:
            each output's ``block^2`` tiles stay in its group).
        block (int): r, the tile side.

    Returns:
        Tensor: (O r^2, I, k + r - 1, k + r - 1); with stride r and padding
        ``k // 2`` its output, ``pixel_shuffle``-d by r, is the original
        conv's output.
    """
    out, inp, k, _ = weight.shape
    tiled = weight.new_zeros(out, block, block, inp, k + block - 1,
                             k + block - 1)
    for i in range(block):
        for j in range(block):
            tiled[:, i, j, :, i:i + k, j:j + k] = weight
    return tiled.reshape(out * block * block, inp, k + block - 1,
                         k + block - 1)


class TiledGateCBAM(nn.Module):
    """:class:`~elhrnet_mm.models.blocks.CBAM` (eval mode, spatial norm
    folded) whose exported graph computes the channel gate and the
    ``[max; mean]`` maps as :class:`~.cbam_conv_gates.ConvGateCBAM` and the
    spatial conv tile by tile (module docstring), wherever ``block``
    divides the map's H and W; on other maps it exports ``ConvGateCBAM``'s
    form. In eager PyTorch it runs the wrapped CBAM unchanged.

    Whole EL-HRNet-W32, 256x192, batch 1, 1 thread (92 of its 104 CBAMs
    tiled; the 8x6 branch falls back): OpenVINO -3 to -5%, ONNX Runtime -1
    to -5% CPU time (docs/speed.md).

    Args:
        cbam (CBAM): the module to wrap (spatial norm folded:
            ``fuse_for_inference``).
        block (int): r, the tile side (a positive int). Default: 4 (16
            output channels; 2 and 8 measured slower on EL-HRNet's maps).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); the tiled logits
        (N, r^2, H/r, W/r).
    """

    def __init__(self, cbam: CBAM, block: int = 4):
        super().__init__()
        if not isinstance(cbam, CBAM):
            raise TypeError(
                f'TiledGateCBAM wraps a CBAM, got {type(cbam).__name__}')
        if isinstance(block, bool) or not isinstance(block, int) \
                or block < 1:
            raise ValueError('TiledGateCBAM block must be a positive int, '
                             f'got {block!r}')
        self.gates = ConvGateCBAM(cbam)
        self.block = block
        conv = cbam.spatial_conv.conv
        with torch.no_grad():
            self.register_buffer('tiled_weight',
                                 tiled_kernel(conv.weight, block))
            self.register_buffer(
                'tiled_bias',
                self.gates.spatial_bias.repeat_interleave(block * block))

    @staticmethod
    def applies_to(cbam: CBAM) -> bool:
        """Whether :class:`~.cbam_conv_gates.ConvGateCBAM` applies (the
        spatial conv's norm folded)."""
        return ConvGateCBAM.applies_to(cbam)

    @property
    def cbam(self) -> CBAM:
        """The wrapped CBAM."""
        return self.gates.cbam

    @property
    def channels(self) -> int:
        """C, the channels the wrapped CBAM attends."""
        return self.gates.channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing():
            return self.cbam(x)
        r = self.block
        if x.shape[2] % r or x.shape[3] % r:
            return self.gates(x)
        x = x * summed_mlp_gate(self.gates, x)
        logits = F.conv2d(
            self.gates.pooled_maps(x),
            self.tiled_weight,
            self.tiled_bias,
            stride=r,
            padding=self.gates.padding)
        return x * F.pixel_shuffle(torch.sigmoid(logits), r)
