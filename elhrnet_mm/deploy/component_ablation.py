"""What a component of a fused network costs in a runtime: the network with
the component removed.

A per-operator profile (:mod:`.profile_ops`) charges each node's own time to
a block, but not what the runtime saves around it (layout reorders, fused
element-wise passes, the per-node dispatch); timing the whole network
without the component, interleaved with the complete one, does. The
networks this module builds are **not exact**: each component is replaced by
the cheapest module of the same shapes, so their outputs are meaningless and
they exist only to be timed. ``tools/analysis_tools/price_components.py`` is
the command line (docs/speed.md, "what is left per missed goal").

Components and their stand-ins (:data:`COMPONENTS`), matched in the fused
network both in their own form and in their deploy rewrites' forms:

* ``cbam``: every CBAM (EL-HRNet's LA-Basicblocks, CBAM-LiteHRNet's stacked
  and per-branch CBAMs) -> identity.
* ``gcm``: Dite-HRNet's global context modeling -> identity.
* ``dcm``: Dite-HRNet's dense context modeling -> identity (each branch
  passes unweighted).
* ``dka``: each dynamic kernel aggregation conv -> one static ``nn.Conv2d``
  of the same geometry (no attention, pre-packed weights).
* ``enhanced_conv_bn``: each EDite Enhanced ConvBN -> the plain depthwise
  conv it replaces (``groups = gcd(C_in, C_out)``, the Ghost module's
  kernel size and stride); EDite's merged multi-split DSCs fall back to
  their split form first.
* ``channel_shuffle``: each concat + channel shuffle -> the concat alone.
* ``l_basic_block``: each L-/LA-Basicblock -> its shortcut (identity or
  downsample): what is left is the HRNet skeleton.
"""
import math
from collections import Counter
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..models.blocks.cbam import CBAM, BranchCBAMs, StackedCBAM
from ..models.blocks.dense_context_modeling import DenseContextModeling
from ..models.blocks.dynamic_kernel_conv import DynamicKernelConv
from ..models.blocks.dynamic_split_conv import ConcatShuffle
from ..models.blocks.enhanced_conv_bn import EnhancedConvBN
from ..models.blocks.folded_global_context_modeling import \
    FoldedGlobalContextModeling
from ..models.blocks.folded_kernel_aggregation import aggregation_and_shift
from ..models.blocks.global_context_modeling import GlobalContextModeling
from ..models.blocks.l_basic_block import LBasicBlock
from .rewrites import (ConvGateCBAM, ConvGateStackedCBAM, ExpandedPoolDCM,
                       MergedGhostSplitConv, ReshapeChannelShuffle,
                       SpatialSoftmaxGCM, SplitNConvBlock, TiledGateCBAM)

_Shapes = Dict[int, Tuple[torch.Size, torch.Size]]
_Make = Callable[[nn.Module, _Shapes], nn.Module]


class Concat(nn.Module):
    """Channel concatenation of the parts (the stand-in of a concat +
    channel shuffle). Shapes: G tensors (N, C_i, H, W) -> (N, sum C_i, H,
    W)."""

    def forward(self, *parts: torch.Tensor) -> torch.Tensor:
        return torch.cat(parts, dim=1)


class Shortcut(nn.Module):
    """A residual block's shortcut alone: ``x`` or ``downsample(x)``.
    Shapes: as the block's."""

    def __init__(self, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.downsample is None else self.downsample(x)


def _identity(module: nn.Module, shapes: _Shapes) -> nn.Module:
    return nn.Identity()


def _static_conv(module: DynamicKernelConv, shapes: _Shapes) -> nn.Module:
    agg = aggregation_and_shift(module.aggregation)[0]
    return nn.Conv2d(agg.in_channels, agg.out_channels, agg.kernel_size,
                     agg.stride, agg.padding, agg.dilation, agg.groups,
                     bias=True)


def _kernel_size(module: nn.Module) -> int:
    """The largest spatial kernel among ``module``'s conv weights (a DKA
    bank is (K, C_out, C_in / g, k, k))."""
    sizes = [t.shape[-1] for t in [*module.parameters(), *module.buffers()]
             if t.dim() >= 4]
    return max(sizes, default=1)


def _depthwise_conv(module: EnhancedConvBN, shapes: _Shapes) -> nn.Module:
    (shape_in, shape_out) = shapes[id(module)]
    c_in, c_out = shape_in[1], shape_out[1]
    stride = shape_in[-1] // shape_out[-1]
    ghost = module[0]  # GhostModuleV2, or its folded form wrapping it
    k = _kernel_size(getattr(ghost, 'ghost', ghost).primary)
    return nn.Conv2d(c_in, c_out, k, stride, k // 2,
                     groups=math.gcd(c_in, c_out), bias=True)


def _split_form(module: MergedGhostSplitConv, shapes: _Shapes) -> nn.Module:
    dsc = module.dsc
    _replace(dsc, ('enhanced_conv_bn', ), shapes, Counter())
    return dsc


def _shortcut(module: nn.Module, shapes: _Shapes) -> nn.Module:
    block = module.block if isinstance(module, SplitNConvBlock) else module
    return Shortcut(block.downsample)


def _each(types: Tuple[type, ...], make: _Make):
    return tuple((kind, make) for kind in types)


#: name -> ((module type, stand-in builder), ...): the component's types in
#: the training form and in the deploy rewrites' forms.
COMPONENTS: Dict[str, Tuple[Tuple[type, _Make], ...]] = {
    'cbam': _each((CBAM, BranchCBAMs, StackedCBAM, ConvGateCBAM,
                   TiledGateCBAM, ConvGateStackedCBAM), _identity),
    'gcm': _each((GlobalContextModeling, FoldedGlobalContextModeling,
                  SpatialSoftmaxGCM), _identity),
    'dcm': _each((DenseContextModeling, ExpandedPoolDCM), _identity),
    'dka': ((DynamicKernelConv, _static_conv), ),
    'enhanced_conv_bn': ((EnhancedConvBN, _depthwise_conv),
                         (MergedGhostSplitConv, _split_form)),
    'channel_shuffle': _each((ConcatShuffle, ReshapeChannelShuffle),
                             lambda module, shapes: Concat()),
    'l_basic_block': _each((LBasicBlock, SplitNConvBlock), _shortcut),
}


def _stand_in(module: nn.Module, names: Sequence[str]):
    """(component name, stand-in builder) of the first of ``names`` whose
    types ``module`` is an instance of, else None."""
    for name in names:
        for kind, make in COMPONENTS[name]:
            if isinstance(module, kind):
                return name, make
    return None


def _replace(module: nn.Module, names: Sequence[str], shapes: _Shapes,
             counts: Counter) -> None:
    for key, child in list(module._modules.items()):
        if child is None:
            continue
        found = _stand_in(child, names)
        if found is None:
            _replace(child, names, shapes, counts)
            continue
        name, make = found
        module._modules[key] = make(child, shapes)
        counts[name] += 1


def remove_components(model: nn.Module, names: Sequence[str],
                      sample: torch.Tensor) -> Dict[str, int]:
    """Replace every module of the named components in ``model`` (in place)
    by its stand-in (module docstring); returns how many of each (the
    outermost match wins: a component inside another one removed counts
    0).

    Args:
        model (nn.Module): a network (fused or not); modified in place.
        names (Sequence[str]): keys of :data:`COMPONENTS`.
        sample (torch.Tensor): an input ``model`` takes; with
            ``enhanced_conv_bn``, one forward pass records the shapes its
            stand-in needs.

    Raises:
        ValueError: an unknown name, or a component ``model`` does not
            contain (nothing would be removed).
    """
    unknown = [name for name in names if name not in COMPONENTS]
    if unknown or not names:
        raise ValueError(f'components must be some of {sorted(COMPONENTS)}, '
                         f'got {list(names)}')
    missing = [
        name for name in names if not any(
            isinstance(m, kind) for m in model.modules()
            for kind, _ in COMPONENTS[name])
    ]
    if missing:
        raise ValueError(f'{type(model).__name__} has no module of the '
                         f'component(s) {missing} (types: ' + '; '.join(
                             f'{name}: ' + ', '.join(
                                 kind.__name__
                                 for kind, _ in COMPONENTS[name])
                             for name in missing) + ')')
    shapes: _Shapes = {}
    hooks = [
        m.register_forward_hook(lambda m, args, out: shapes.__setitem__(
            id(m), (args[0].shape, out.shape)))
        for m in model.modules() if isinstance(m, EnhancedConvBN)
    ] if 'enhanced_conv_bn' in names else []
    if hooks:  # only the depthwise stand-in needs shapes
        try:
            with torch.no_grad():
                model(sample)
        finally:
            for hook in hooks:
                hook.remove()
    counts = Counter()
    _replace(model, names, shapes, counts)
    return {name: counts[name] for name in names}
