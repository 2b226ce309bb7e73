"""Adaptive average pooling with a traced output size, made exportable.

Lite-HRNet's cross-resolution weighting (MMPose's ``CrossResolutionWeighting``
and our :class:`~elhrnet_mm.models.blocks.CBAMCrossResolutionWeighting`)
pools every branch to the size of the smallest one,
``F.adaptive_avg_pool2d(s, x[-1].shape[-2:])``. Under tracing with a
dynamic batch axis that size is a traced value, and PyTorch's ONNX exporter
refuses adaptive pooling to a non-constant size ("Unsupported: ONNX export
of operator adaptive pooling, since output_size is not constant"; Lite-HRNet
issues #23, #50, mmpose #1400). Our exports fix H and W, and the branches
of a multi-resolution network divide exactly, so the pooling is a plain
average pooling with ``kernel = stride = input size / output size``: the
same numbers, with constant attributes (:func:`fixed_size_avg_pool`).

:func:`replace_adaptive_pooling` swaps, in the copy of the model that the
exporter traces, every cross-resolution weighting for its export form
(:class:`ExportCrossResolutionWeighting`,
:class:`ExportCBAMCrossResolutionWeighting`), which pools with
:func:`fixed_size_avg_pool`. Nothing global changes and the model the
caller holds keeps its modules.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Type, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpose.models.backbones.litehrnet import CrossResolutionWeighting

from ..models.blocks import CBAMCrossResolutionWeighting

_Size = Union[int, None, Sequence[Optional[int]]]


def _output_hw(output_size: _Size, in_h: int,
               in_w: int) -> Tuple[int, int]:
    """(h, w) of an ``adaptive_avg_pool2d`` output size (None keeps the
    input's)."""
    if output_size is None or isinstance(output_size, int):
        output_size = (output_size, output_size)
    out_h, out_w = output_size
    return (in_h if out_h is None else int(out_h),
            in_w if out_w is None else int(out_w))


def fixed_size_avg_pool(inputs: torch.Tensor,
                        output_size: _Size) -> torch.Tensor:
    """``F.adaptive_avg_pool2d(inputs, output_size)`` written as
    ``F.avg_pool2d`` with constant kernel = stride when the output size
    divides the input size (other than 1x1, which exports as a global
    pooling); adaptive pooling otherwise. Equal values either way."""
    in_h, in_w = (int(s) for s in inputs.shape[-2:])
    out_h, out_w = _output_hw(output_size, in_h, in_w)
    if (out_h, out_w) == (1, 1) or in_h % out_h or in_w % out_w:
        return F.adaptive_avg_pool2d(inputs, (out_h, out_w))
    kernel = (in_h // out_h, in_w // out_w)
    return F.avg_pool2d(inputs, kernel, kernel)


def pool_to_smallest(x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """Every branch but the last pooled to the last (smallest) one's size
    with :func:`fixed_size_avg_pool`, then the last."""
    mini_size = tuple(int(s) for s in x[-1].shape[-2:])
    return [fixed_size_avg_pool(s, mini_size) for s in x[:-1]] + [x[-1]]


class ExportCrossResolutionWeighting(CrossResolutionWeighting):
    """MMPose's ``CrossResolutionWeighting`` (Lite-HRNet) with the pooling
    of :func:`pool_to_smallest`; otherwise its forward, step for step
    (concatenate, two 1x1 ConvModules, split, nearest upsampling, multiply).
    Shapes: a list of B ``(N, C_i, H_i, W_i)`` maps in and out."""

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        out = torch.cat(pool_to_smallest(x), dim=1)
        out = self.conv2(self.conv1(out))
        out = torch.split(out, self.channels, dim=1)
        return [
            s * F.interpolate(a, size=s.size()[-2:], mode='nearest')
            for s, a in zip(x, out)
        ]


class ExportCBAMCrossResolutionWeighting(CBAMCrossResolutionWeighting):
    """:class:`~elhrnet_mm.models.blocks.CBAMCrossResolutionWeighting` whose
    branch pooling is :func:`pool_to_smallest` (its forward otherwise)."""

    def pool_to_smallest(self,
                         x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        return pool_to_smallest(x)


#: The export form of each module type that pools to a traced size; the
#: most derived types first.
EXPORT_FORMS: Dict[Type[nn.Module], Type[nn.Module]] = {
    CBAMCrossResolutionWeighting: ExportCBAMCrossResolutionWeighting,
    CrossResolutionWeighting: ExportCrossResolutionWeighting,
}


def _export_form(module: nn.Module) -> Optional[Type[nn.Module]]:
    if isinstance(module, tuple(EXPORT_FORMS.values())):
        return None
    for module_type, form in EXPORT_FORMS.items():
        if type(module) is module_type:
            return form
    return None


def replace_adaptive_pooling(model: nn.Module) -> int:
    """Swap every module of :data:`EXPORT_FORMS` in ``model`` (in place; the
    exporter passes its own copy) for its export form: a new module of that
    type sharing the original's parameters, buffers and settings. Returns
    how many were swapped.

    A subclass of those types with a forward of its own is not an
    instance of a known form: exporting it raises the exporter's error
    naming it instead of being swapped for a module that runs another
    forward.
    """
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            form = _export_form(child)
            if form is None:
                continue
            replacement = form.__new__(form)
            replacement.__dict__ = child.__dict__
            setattr(parent, name, replacement)
            swapped += 1
    return swapped
