"""Exact deploy-time rewrites for graph runtimes (ONNX Runtime, OpenVINO).

Each rewrite swaps a fused module for a replacement computing the same
function in operators the runtimes execute faster; each was kept only where
a whole-model measurement showed a gain (docs/speed.md, "where the time
goes"). :func:`~elhrnet_mm.deploy.fuse_for_inference` applies
:func:`apply_graph_rewrites` after the blocks' own deploy forms.
"""
import torch.nn as nn

from ...models.blocks.folded_global_context_modeling import \
    FoldedGlobalContextModeling
from ..grouped_conv_as_depthwise import GroupedConvAsDepthwise
from .native_grouped_conv import NativeGroupedConv
from .softmax_context_pool import SpatialSoftmaxGCM, softmax_context_pool

#: (module type, replacement built from it), applied in this order.
GRAPH_REWRITES = ((FoldedGlobalContextModeling, SpatialSoftmaxGCM),
                  (GroupedConvAsDepthwise, NativeGroupedConv))


def apply_graph_rewrites(model: nn.Module) -> int:
    """Swap every module of a :data:`GRAPH_REWRITES` type (exact type, not
    subclasses) for its replacement, in place; returns how many were
    swapped. A module already inside a replacement is not swapped again."""
    replaced = 0
    for source, replacement in GRAPH_REWRITES:
        for parent in list(model.modules()):
            if isinstance(parent, replacement):
                continue
            for name, child in list(parent._modules.items()):
                if type(child) is source:
                    parent._modules[name] = replacement(child)
                    replaced += 1
    return replaced


__all__ = [
    'GRAPH_REWRITES', 'NativeGroupedConv', 'SpatialSoftmaxGCM',
    'apply_graph_rewrites', 'softmax_context_pool'
]
