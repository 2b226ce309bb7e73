"""Enhanced Dynamic Global Context (EDGC) block of EDite-HRNet.

Rui et al., "EDite-HRNet: Enhanced Dynamic Lightweight High-Resolution
Network for Human Pose Estimation", IEEE Access, Sec. III-B and III-D,
Fig. 2 (the DGC block with its ConvBN replaced by an Enhanced ConvBN).
"""
from typing import Sequence

from mmpose.registry import MODELS

from .dgc_block import DGCBlock

#: The positions the paper calls "the ConvBN" of the DGC block: the two
#: depthwise DKA convs with BN and no activation (the official code's
#: ``ConvBN`` class; the other four are ``Conv1x1BN(ReLU)`` / ``ConvBNReLU``).
DEFAULT_ENHANCED = ('branch1.dw', 'branch2.dw')


@MODELS.register_module()
class EDGCBlock(DGCBlock):
    """:class:`~.DGCBlock` with Enhanced ConvBN layers.

    Identical to the DGC block except that the positions in
    ``enhanced_layers`` (default: the two depthwise ConvBN, see
    :data:`DEFAULT_ENHANCED` and docs/edite_hrnet.md) are
    :class:`~.EnhancedConvBN` (GhostNetV2 module with DFC attention, then
    BN). Arguments as :class:`~.DGCBlock`.

    Shapes:
        input (N, C, H, W) -> output (N, C, H / stride, W / stride).
    """

    def __init__(self,
                 channels: int,
                 *args,
                 enhanced_layers: Sequence[str] = DEFAULT_ENHANCED,
                 **kwargs):
        if not enhanced_layers:
            raise ValueError('EDGCBlock enhanced_layers must name at least '
                             'one position; use DGCBlock for none')
        super().__init__(
            channels, *args, enhanced_layers=enhanced_layers, **kwargs)
