"""The lightweight upsampling block (LPB) computed on the four sub-pixel
phases of its upsampled map: the deploy form that
:meth:`LightweightUpsampleBlock.switch_to_deploy
<elhrnet_mm.models.blocks.LightweightUpsampleBlock.switch_to_deploy>`
returns.

MobilePoseNet ("Designing Compact Convolutional Filters for Lightweight
Human Pose Estimation", Wireless Communications and Mobile Computing 2021,
Sec. 3.1, Fig. 3(b)). Everything after the depthwise transposed conv (its
norm and activation, the SE pooling and gating, the 1x1 projection) acts per
pixel or pools globally, so it runs on each quarter-size phase; only the
``C_out``-channel result is interleaved, instead of the ``C_mid`` channels
after the upsampling.
"""
from typing import List

import torch
import torch.nn as nn

from .subpixel_depthwise_deconv import (SubpixelDepthwiseDeconv,
                                        interleave_phases)


class PhaseWiseLightweightUpsample(nn.Module):
    """A :class:`~elhrnet_mm.models.blocks.LightweightUpsampleBlock` whose
    transposed conv is a :class:`~.SubpixelDepthwiseDeconv`, run phase by
    phase.

    ``X``'s SE pool is the mean of its four phases' pools; the gate
    (:meth:`~elhrnet_mm.models.blocks.LightweightUpsampleBlock.se_gate`)
    scales the phases in place (they are this module's own temporaries, so
    it is for inference only: autograd needs them). Same values as the
    wrapped block (different summation order), which it consumes.

    Args:
        block (LightweightUpsampleBlock): the block, its ``upsample.conv``
            already a :class:`~.SubpixelDepthwiseDeconv`.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, 2H, 2W), as the block;
        the projection sees four (N, C_mid, H, W) phases.
    """

    def __init__(self, block: nn.Module):
        super().__init__()
        if not isinstance(block.upsample.conv, SubpixelDepthwiseDeconv):
            raise ValueError(
                'PhaseWiseLightweightUpsample needs a block whose '
                'upsample.conv is a SubpixelDepthwiseDeconv, got '
                f'{type(block.upsample.conv).__name__}')
        self.block = block

    def upsampled_phases(self, x: torch.Tensor) -> List[torch.Tensor]:
        """``block.upsample(x)`` as its four phases (``PHASES`` order)."""
        upsample = self.block.upsample
        phases = upsample.conv.phases(x)
        if upsample.with_norm:
            phases = [upsample.norm(p) for p in phases]
        if upsample.with_activation:
            phases = [upsample.activate(p) for p in phases]
        return phases

    def attend(self, phases: List[torch.Tensor]) -> List[torch.Tensor]:
        """The block's SE attention of the map whose phases are ``phases``,
        applied to each phase in place."""
        se = self.block.se
        pooled = torch.stack([se.global_avgpool(p) for p in phases]).mean(0)
        gate = self.block.se_gate(pooled)
        return [p.mul_(gate) for p in phases]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        block = self.block
        phases = self.upsampled_phases(block.expand(x))
        if block.se_position == 'expanded':
            phases = [block.project(p) for p in self.attend(phases)]
        else:
            phases = self.attend([block.project(p) for p in phases])
        return interleave_phases(phases)
