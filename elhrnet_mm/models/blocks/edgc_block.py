"""Enhanced Dynamic Global Context (EDGC) block of EDite-HRNet.

Rui et al., "EDite-HRNet: Enhanced Dynamic Lightweight High-Resolution
Network for Human Pose Estimation", IEEE Access, Sec. III-B and III-D,
Fig. 2 (the DGC block with its ConvBN replaced by an Enhanced ConvBN).
"""
from typing import Dict, Optional

from mmpose.registry import MODELS

from .dgc_block import DGCBlock

#: The positions the paper calls "the ConvBN" of the DGC block: the two
#: depthwise DKA convs with BN and no activation (the official code's
#: ``ConvBN`` class; the other four are ``Conv1x1BN(ReLU)`` / ``ConvBNReLU``).
DEFAULT_ENHANCED = ('branch1.dw', 'branch2.dw')


@MODELS.register_module()
class EDGCBlock(DGCBlock):
    """:class:`~.DGCBlock` with Enhanced ConvBN layers.

    Identical to the DGC block except for the default ``conv_bn_cfgs``:
    ``dict(type='EnhancedConvBN')`` (GhostNetV2 module with DFC attention,
    then BN) at the two depthwise ConvBN positions (:data:`DEFAULT_ENHANCED`,
    see docs/edite_hrnet.md). Arguments as :class:`~.DGCBlock`.

    Shapes:
        input (N, C, H, W) -> output (N, C, H / stride, W / stride).
    """

    def __init__(self,
                 channels: int,
                 *args,
                 conv_bn_cfgs: Optional[Dict[str, dict]] = None,
                 **kwargs):
        if conv_bn_cfgs is None:
            conv_bn_cfgs = {
                position: dict(type='EnhancedConvBN')
                for position in DEFAULT_ENHANCED
            }
        elif not conv_bn_cfgs:
            raise ValueError('EDGCBlock conv_bn_cfgs must name at least one '
                             'position; use DGCBlock for none')
        super().__init__(channels, *args, conv_bn_cfgs=conv_bn_cfgs, **kwargs)
