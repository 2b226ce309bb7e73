"""GlobalContextModeling with its output BN folded into the gate: the deploy
form that :meth:`GlobalContextModeling.switch_to_deploy
<elhrnet_mm.models.blocks.GlobalContextModeling.switch_to_deploy>` returns.

Li et al., "Dite-HRNet", IJCAI 2022, Sec. 3.3 (Eq. 5-6): ``y = BN(x * g)``
with ``g`` the channel gate of the global context.
"""
import torch
import torch.nn as nn


class FoldedGlobalContextModeling(nn.Module):
    """``x * (g * scale) + shift`` (one ``addcmul`` over the map): the eval
    BN ``y = scale * (x * g) + shift`` after the wrapped module's gate ``g``
    (:meth:`~elhrnet_mm.models.blocks.GlobalContextModeling.gate`).

    Args:
        gcm (GlobalContextModeling): the module whose gate is used (its
            output norm is no longer applied; it is consumed).
        scale, shift (Tensor): the folded BN, shape (C, ) each.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); :attr:`gate_scale` and
        :attr:`out_shift` (1, C, 1, 1).
    """

    def __init__(self, gcm: nn.Module, scale: torch.Tensor,
                 shift: torch.Tensor):
        super().__init__()
        self.gcm = gcm
        self.register_buffer('gate_scale', scale.view(1, -1, 1, 1).clone())
        self.register_buffer('out_shift', shift.view(1, -1, 1, 1).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.out_shift, x,
                             self.gcm.gate(x) * self.gate_scale)
