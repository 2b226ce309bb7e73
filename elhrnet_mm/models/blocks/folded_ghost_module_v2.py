"""GhostModuleV2 with a following per-channel affine map (an eval-mode BN)
folded in: the deploy form that :meth:`GhostModuleV2.fold_affine
<elhrnet_mm.models.blocks.GhostModuleV2.fold_affine>` returns.

Tang et al., "GhostNetV2", NeurIPS 2022, Eq. 8 (``O = sigmoid(A(x)) *
Ghost(x)``), followed by the BN of EDite-HRNet's Enhanced ConvBN (Rui et
al., IEEE Access, Fig. 4).
"""
import torch
import torch.nn as nn

from ..utils.bn_folding import ChannelAffine
from .nearest_upsample import nearest_upsample


class FoldedGhostModuleV2(nn.Module):
    """``scale * O + shift`` per output channel, ``O`` the output of the
    wrapped :class:`~elhrnet_mm.models.blocks.GhostModuleV2`, computed with
    one fused multiply-add over the output map.

    With DFC attention ``scale * (Ghost(x) * up(g)) + shift =
    Ghost(x) * up(scale * g) + shift``: the scale multiplies the
    low-resolution gate ``g`` (nearest upsampling commutes with a
    per-channel scale) and the shift goes into the final ``addcmul``.
    Without attention: ``addcmul(shift, Ghost(x), scale)``. The wrapped
    module's layers are used as they are (BN folding may rewrite them in
    place); it is consumed.

    Args:
        ghost (GhostModuleV2): the module whose output is mapped.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, H / stride, W / stride),
        as the wrapped module; the map is :attr:`out_affine`
        (:class:`~elhrnet_mm.models.utils.bn_folding.ChannelAffine`).
    """

    def __init__(self, ghost: nn.Module):
        super().__init__()
        self.ghost = ghost
        self.out_affine = ChannelAffine(ghost.out_channels,
                                        next(ghost.parameters()))

    def fold_affine(self, scale: torch.Tensor,
                    shift: torch.Tensor) -> 'FoldedGhostModuleV2':
        """Compose another per-channel ``scale * y + shift`` (shape (C_out, )
        each) after this module's output, in place; returns ``self``."""
        self.out_affine.compose(scale, shift)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.ghost.ghost_features(x)
        if self.ghost.dfc is None:
            return self.out_affine(out)
        affine = self.out_affine
        gate = nearest_upsample(
            self.ghost.dfc_gate(x) * affine.scale, out.shape[-2:])
        return torch.addcmul(affine.shift, out, gate)
