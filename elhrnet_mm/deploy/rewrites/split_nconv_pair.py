"""The L-Basicblock's first NConv3x3 feeding the second without a concat,
for graph runtimes.

EL-HRNet's L-/LA-Basicblock (Li et al., Sensors 2024, 24, 396, Eq. 8-10)
computes ``Y1 = BN(NConv(ReLU(BN(NConv(X)))))``; with its BN folded
(:class:`~elhrnet_mm.models.blocks.folded_nconv.FoldedNConv3x3`) the first
NConv3x3 is ``cat(u, v)``, ``u = a * p + b`` and ``v = g(p)`` (``p`` its 1x1
conv, ``g`` the grouped 3x3 conv), and the second NConv3x3 starts with a
conv ``W`` over all its input channels. Since ReLU acts per element and the
conv is linear in its input channels,

    W * ReLU(cat(u, v)) = W[:, :C/2] * ReLU(u) + W[:, C/2:] * ReLU(v),

two convs and a sum instead of a concatenation, a ReLU of the whole map and
one conv. In OpenVINO the channel concatenation of the (channels-last)
halves is a reference-kernel copy (~25 us per block at 32x64x48), and the
two ReLUs fuse into the ops producing ``u`` and ``v`` (docs/speed.md,
"where the time goes").
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from ...models.blocks.folded_nconv import FoldedNConv3x3
from ...models.blocks.l_basic_block import LBasicBlock


def _split_conv(block: LBasicBlock) -> Optional[nn.Conv2d]:
    """The second NConv3x3's conv when the block has the folded form the
    rewrite needs, else None."""
    if not (isinstance(block.nconv1, FoldedNConv3x3)
            and isinstance(block.nconv2, FoldedNConv3x3)
            and type(block.nconv1_norm) is nn.Identity
            and type(block.nconv2_norm) is nn.Identity
            and not any(True for _ in block.act.parameters())):
        return None
    primary = block.nconv2.nconv.primary
    if not (isinstance(primary, ConvModule) and not primary.with_norm
            and not primary.with_activation):
        return None
    conv = primary.conv
    if type(conv) is not nn.Conv2d or conv.groups != 1 or \
            conv.padding_mode != 'zeros' or isinstance(conv.padding, str):
        return None
    return conv


class SplitNConvBlock(nn.Module):
    """An eval-mode L-/LA-Basicblock (BNs folded) whose exported graph feeds
    the first NConv3x3's halves to the second NConv3x3's conv separately
    (module docstring). In eager PyTorch it runs the wrapped block
    unchanged; under tracing (ONNX export) the split form.

    Args:
        block (LBasicBlock): the fused block to wrap (an
            :class:`~elhrnet_mm.models.blocks.LBasicBlock` or
            :class:`~elhrnet_mm.models.blocks.LABasicBlock` after
            ``fuse_for_inference``'s BN folding).

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, H, W).
    """

    def __init__(self, block: LBasicBlock):
        super().__init__()
        if not isinstance(block, LBasicBlock):
            raise TypeError('SplitNConvBlock wraps an LBasicBlock or '
                            f'LABasicBlock, got {type(block).__name__}')
        conv = _split_conv(block)
        if conv is None:
            raise ValueError(
                'SplitNConvBlock needs a block whose NConv3x3 BNs are '
                'folded (FoldedNConv3x3, norms nn.Identity), a '
                'parameter-free activation and a second NConv3x3 whose 1x1 '
                'conv has no norm or activation (fuse_for_inference)')
        self.block = block
        half = block.nconv1.nconv.grouped.out_channels
        with torch.no_grad():
            self.register_buffer('weight_u', conv.weight[:, :half].clone())
            self.register_buffer('weight_v', conv.weight[:, half:].clone())

    @property
    def cbam(self) -> nn.Module:
        """The wrapped LA-Basicblock's CBAM: the traced form calls it from
        here, so the exporter's node scopes read ``<this module>/cbam/...``
        (resolved e.g. by :func:`~elhrnet_mm.deploy.profile_ops.block_of`).
        AttributeError for an L-Basicblock."""
        return self.block.cbam

    @staticmethod
    def applies_to(block: nn.Module) -> bool:
        """Whether ``block`` is a fused L-/LA-Basicblock this form can
        wrap."""
        return (isinstance(block, LBasicBlock)
                and _split_conv(block) is not None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.block
        if not torch.jit.is_tracing():
            return b(x)
        identity = x if b.downsample is None else b.downsample(x)
        first = b.nconv1
        p = first.nconv.primary(x)
        u = b.act(first.primary_affine(p))
        v = b.act(first.nconv.grouped(p))
        conv = b.nconv2.nconv.primary.conv
        args = (conv.stride, conv.padding, conv.dilation)
        p2 = (F.conv2d(u, self.weight_u, conv.bias, *args) +
              F.conv2d(v, self.weight_v, None, *args))
        second = b.nconv2
        y = torch.cat([second.primary_affine(p2),
                       second.nconv.grouped(p2)], dim=1)
        return b.act(b.attend(y) + identity)
