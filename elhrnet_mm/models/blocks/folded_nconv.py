"""NConv3x3 with a following per-channel affine map (an eval-mode BN)
folded in: the deploy form that :meth:`NConv3x3.fold_affine
<elhrnet_mm.models.blocks.NConv3x3.fold_affine>` returns.

Li et al., "EL-HRNet", Sensors 2024, 24, 396, Eq. 8: the BN after each
NConv3x3 of an L-Basicblock.
"""
import torch
import torch.nn as nn

from ..utils.bn_folding import ChannelAffine, fold_affine


class FoldedNConv3x3(nn.Module):
    """``scale * concat(p, g(p)) + shift`` per channel, with ``p`` the
    wrapped NConv3x3's 1x1 output and ``g`` its grouped 3x3 conv.

    The second half of the map is folded into ``g`` itself (its weights and
    bias, :func:`~elhrnet_mm.models.utils.bn_folding.fold_affine`); the
    first half is ``p``, which ``g`` also reads unnormalised, so it gets one
    multiply-add (:attr:`primary_affine`, a :class:`~elhrnet_mm.models.
    utils.bn_folding.ChannelAffine`). The wrapped module is consumed (its
    grouped conv is rewritten).

    Args:
        nconv (NConv3x3): the module whose output is mapped.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, H, W), as the wrapped
        module.
    """

    def __init__(self, nconv: nn.Module):
        super().__init__()
        self.nconv = nconv
        self.primary_affine = ChannelAffine(nconv.grouped.out_channels,
                                            next(nconv.parameters()))

    def fold_affine(self, scale: torch.Tensor,
                    shift: torch.Tensor) -> 'FoldedNConv3x3':
        """Compose another per-channel ``scale * y + shift`` (shape (C_out, )
        each) after this module's output, in place; returns ``self``."""
        half = scale.numel() // 2
        self.nconv.grouped = fold_affine(self.nconv.grouped, scale[half:],
                                         shift[half:])
        self.primary_affine.compose(scale[:half], shift[:half])
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.nconv.primary(x)
        return torch.cat([self.primary_affine(p), self.nconv.grouped(p)],
                         dim=1)
