"""Reusable blocks of the papers this package implements, one per file."""
from .cbam import CBAM
from .l_basic_block import LABasicBlock, LBasicBlock
from .nconv import NConv3x3

__all__ = ['CBAM', 'NConv3x3', 'LBasicBlock', 'LABasicBlock']
