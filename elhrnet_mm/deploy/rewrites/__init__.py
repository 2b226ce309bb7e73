"""Exact deploy-time rewrites for graph runtimes (ONNX Runtime, OpenVINO).

Each rewrite swaps a fused module for a replacement computing the same
function in operators the runtimes execute faster; each was kept only where
a whole-model measurement showed a gain (docs/speed.md, "where the time
goes"). :func:`~elhrnet_mm.deploy.fuse_for_inference` applies
:func:`apply_graph_rewrites` after the blocks' own deploy forms.
"""
import torch.nn as nn

from ...models.blocks.cbam import CBAM, StackedCBAM
from ...models.blocks.dense_context_modeling import DenseContextModeling
from ...models.blocks.dynamic_split_conv import (ConcatShuffle,
                                                 DynamicSplitConv)
from ...models.blocks.folded_global_context_modeling import \
    FoldedGlobalContextModeling
from ...models.blocks.folded_mix_conv import FoldedMixConv
from ...models.blocks.l_basic_block import LABasicBlock, LBasicBlock
from ..grouped_conv_as_depthwise import GroupedConvAsDepthwise
from .cbam_conv_gates import ConvGateCBAM, ConvGateStackedCBAM
from .depthwise_group_sum import DepthwiseGroupSumConv
from .expanded_context_pool import ExpandedPoolDCM, expanded_official_pool
from .merged_ghost_split_conv import MergedGhostSplitConv
from .native_grouped_conv import NativeGroupedConv
from .reshape_channel_shuffle import ReshapeChannelShuffle
from .softmax_context_pool import SpatialSoftmaxGCM, softmax_context_pool
from .split_nconv_pair import SplitNConvBlock
from .stagewise_mix_conv import StagewiseMixConv
from .tiled_spatial_gate import TiledGateCBAM

#: (module type, replacement built from it), applied in this order.
GRAPH_REWRITES = ((FoldedGlobalContextModeling, SpatialSoftmaxGCM),
                  (GroupedConvAsDepthwise, DepthwiseGroupSumConv),
                  (GroupedConvAsDepthwise, NativeGroupedConv),
                  (CBAM, TiledGateCBAM), (StackedCBAM, ConvGateStackedCBAM),
                  (LBasicBlock, SplitNConvBlock),
                  (LABasicBlock, SplitNConvBlock),
                  (FoldedMixConv, StagewiseMixConv),
                  (ConcatShuffle, ReshapeChannelShuffle),
                  (DenseContextModeling, ExpandedPoolDCM),
                  (DynamicSplitConv, MergedGhostSplitConv))


def apply_graph_rewrites(model: nn.Module) -> int:
    """Swap every module of a :data:`GRAPH_REWRITES` type (exact type, not
    subclasses) for its replacement, in place; returns how many were
    swapped. Nothing inside a replacement is swapped (by any entry: the
    replacement has chosen the form of everything it holds, also of the
    helpers it builds around the wrapped module, which also makes a second
    call a no-op), nor a module the replacement's ``applies_to(module)``
    (where it has one) declines; the first entry of a source type that
    applies wins."""
    replacements = tuple(replacement for _, replacement in GRAPH_REWRITES)

    def parents(module: nn.Module):
        """``module`` and its descendants, not entering replacements."""
        if isinstance(module, replacements):
            return
        yield module
        for child in module.children():
            yield from parents(child)

    replaced = 0
    for source, replacement in GRAPH_REWRITES:
        applies = getattr(replacement, 'applies_to', None)
        for parent in list(parents(model)):
            for name, child in list(parent._modules.items()):
                if type(child) is source and (applies is None
                                              or applies(child)):
                    parent._modules[name] = replacement(child)
                    replaced += 1
    return replaced


__all__ = [
    'ConvGateCBAM', 'ConvGateStackedCBAM', 'DepthwiseGroupSumConv',
    'ExpandedPoolDCM', 'GRAPH_REWRITES', 'MergedGhostSplitConv',
    'NativeGroupedConv', 'ReshapeChannelShuffle', 'SplitNConvBlock',
    'SpatialSoftmaxGCM', 'StagewiseMixConv', 'TiledGateCBAM',
    'apply_graph_rewrites', 'expanded_official_pool', 'softmax_context_pool'
]
