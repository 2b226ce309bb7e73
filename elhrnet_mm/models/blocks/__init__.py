"""Reusable blocks of the papers this package implements, one per file."""
from .cbam import CBAM
from .cbam_cross_resolution_weighting import CBAMCrossResolutionWeighting
from .dense_context_modeling import DenseContextModeling
from .dgc_block import DGCBlock
from .dmc_block import DMCBlock
from .dynamic_kernel_conv import DynamicKernelConv
from .dynamic_split_conv import DynamicSplitConv
from .edgc_block import EDGCBlock
from .edmc_block import EDMCBlock
from .enhanced_conv_bn import EnhancedConvBN
from .ghost_module_v2 import GhostModuleV2
from .global_context_modeling import GlobalContextModeling
from .l_basic_block import LABasicBlock, LBasicBlock
from .lightweight_upsample import LightweightUpsampleBlock
from .nconv import NConv3x3

__all__ = [
    'CBAM', 'NConv3x3', 'LBasicBlock', 'LABasicBlock',
    'CBAMCrossResolutionWeighting', 'DynamicKernelConv', 'DynamicSplitConv',
    'GlobalContextModeling', 'DenseContextModeling', 'DMCBlock', 'DGCBlock',
    'GhostModuleV2', 'EnhancedConvBN', 'EDMCBlock', 'EDGCBlock',
    'LightweightUpsampleBlock'
]
