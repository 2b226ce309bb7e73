"""Reusable blocks of the papers this package implements, one per file."""
from .cbam import CBAM
from .cbam_cross_resolution_weighting import CBAMCrossResolutionWeighting
from .l_basic_block import LABasicBlock, LBasicBlock
from .lightweight_upsample import LightweightUpsampleBlock
from .nconv import NConv3x3

__all__ = [
    'CBAM', 'NConv3x3', 'LBasicBlock', 'LABasicBlock',
    'CBAMCrossResolutionWeighting', 'LightweightUpsampleBlock'
]
