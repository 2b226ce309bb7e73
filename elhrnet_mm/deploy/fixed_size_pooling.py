"""Adaptive average pooling with a traced output size, made exportable.

Lite-HRNet's cross-resolution weighting (MMPose's and our CBAM variant)
pools every branch to the size of the smallest one,
``F.adaptive_avg_pool2d(s, x[-1].shape[-2:])``. Under tracing with a
dynamic batch axis that size is a traced value, and PyTorch's ONNX exporter
refuses adaptive pooling to a non-constant size ("Unsupported: ONNX export
of operator adaptive pooling, since output_size is not constant"; Lite-HRNet
issues #23, #50, mmpose #1400). Our exports fix H and W, and the branches
of a multi-resolution network divide exactly, so the pooling is a plain
average pooling with ``kernel = stride = input size / output size``: the
same numbers, with constant attributes.

:func:`fixed_size_adaptive_pooling` substitutes that for
``torch.nn.functional.adaptive_avg_pool2d`` while a model is exported
(global pooling to 1x1 and sizes that do not divide are left to PyTorch).
"""
import contextlib
from typing import Iterator, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

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


@contextlib.contextmanager
def fixed_size_adaptive_pooling() -> Iterator[None]:
    """Within the block, ``F.adaptive_avg_pool2d`` to an output size that
    divides the input size (other than 1x1) is ``F.avg_pool2d`` with
    constant kernel and stride."""
    adaptive = F.adaptive_avg_pool2d

    def pool(inputs: torch.Tensor, output_size: _Size) -> torch.Tensor:
        in_h, in_w = (int(s) for s in inputs.shape[-2:])
        out_h, out_w = _output_hw(output_size, in_h, in_w)
        if (out_h, out_w) == (1, 1) or in_h % out_h or in_w % out_w:
            return adaptive(inputs, output_size)
        kernel = (in_h // out_h, in_w // out_w)
        return F.avg_pool2d(inputs, kernel, kernel)

    F.adaptive_avg_pool2d = pool
    try:
        yield
    finally:
        F.adaptive_avg_pool2d = adaptive
