"""DCM's official pooling without a raw-memory view of the feature map, for
graph runtimes.

:func:`~elhrnet_mm.models.blocks.dense_context_modeling.
official_context_pool` views the (N, C, H, W) features as raw memory,
``(N, cells, C, S)`` with ``S = H * W / cells``: flat index ``q * S + s``
(``q = ch * cells + m``, ``m`` the S-long raster run of channel ch that
holds the pixel) is pooled with run ``r = q // C`` of the soft-maxed
logits, into output channel ``j = q % C`` of cell r. Exported, that
reshape needs the plain NCHW memory of the map, so OpenVINO converts it
out of its channels-last layout (and the ``Split`` feeding DCM writes plain
halves). The same sum per run, with the raw-memory step moved onto the
(1-channel) weights and onto the pooled sums:

* the weight of pixel (ch, p) is run ``r = (ch * cells + p // S) // C`` of
  the weights at offset ``p % S``: the (N, cells, S) weights, each run
  repeated C times, (N, cells, C, S), read as (N, C, H, W). For runs of at
  most :data:`MATMUL_MAX_RUN` pixels the repetition is a product with the
  constant 0/1 matrix ``[I_S ... I_S]`` (S x C*S, C blocks; exact:
  ``v * 1 + w * 0 = v``), otherwise an ``expand``. OpenVINO's ``Expand``
  (a reference kernel) copies one S-long run at a time, ~65 us for
  Dite-HRNet-18's (768, 20, 4) against ~16 us for the product (a GEMM
  with K = S, which costs S times the copy's work: for S = 16 the product
  was the slower one, 36 against 25 us); ONNX Runtime runs both alike;
* ``x * that`` summed over each run: an average pool over row pieces of
  ``P = gcd(S, W)`` pixels (a run is S / P consecutive pieces; the weights
  carry the factor P, a power of two for Dite-HRNet's sizes, inside the 0/1
  matrix where there is one), then the sum of S / P consecutive pieces in
  raw order, on a map P times smaller;
* the run sums, in raw order q, are (N, cells, C): the output
  ``out[:, j, r]`` channels-last with the cells flattened, without a
  transpose.

:class:`ExpandedPoolDCM` concatenates the branches' pooled contexts in that
(N, cells, C_b) form (the lowest branch through its channels-last view)
and views the concatenation as (N, sum C_b, gh, gw) for the channel
attention: OpenVINO holds the maps channels-last, so the lowest branch's
view and the final one cost nothing there. Transposing each branch's sums
to (N, C, gh, gw) instead made OpenVINO run those transposes and, from
three branches on, concatenate in the plain layout with conversions of
the lowest branch and of the concatenation (~20-40 us per DCM); a 4-D
(N, gh, gw, C) concatenation did the same for two branches.
"""
import math
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...models.blocks.dense_context_modeling import DenseContextModeling

#: Longest run whose repeated weights are built by a 0/1 matrix product
#: instead of ``expand`` (module docstring).
MATMUL_MAX_RUN = 4


def run_repeat_matrix(run: int, copies: int, scale: int,
                      like: torch.Tensor) -> torch.Tensor:
    """``scale * [I_run ... I_run]`` (``copies`` blocks), shape
    (run, copies * run), dtype and device of ``like``: ``v @ it`` repeats
    the run ``v`` ``copies`` times (times ``scale``). Built from Python
    numbers, so a trace records it as one constant."""
    return torch.tensor(
        [[float(scale) if col % run == row else 0.0
          for col in range(copies * run)] for row in range(run)],
        dtype=like.dtype,
        device=like.device)


def expanded_official_pool(x: torch.Tensor, logits: torch.Tensor,
                           grid: Tuple[int, int]) -> torch.Tensor:
    """``official_context_pool(x, logits, grid)`` in 4-D operators on ``x``
    (module docstring), channels-last with the cells flattened:
    ``official_context_pool(x, logits, grid).flatten(2).transpose(1, 2)``.

    Shapes:
        x (N, C, H, W), logits (N, 1, H, W), ``gh * gw`` dividing H * W
        -> (N, gh * gw, C).
    """
    n, c, h, w = x.shape
    cells = grid[0] * grid[1]
    run = h * w // cells
    piece = math.gcd(run, w)
    weights = logits.reshape(n, h * w).softmax(dim=1)
    if run <= MATMUL_MAX_RUN:
        weights = torch.matmul(weights.view(n, cells, run),
                               run_repeat_matrix(int(run), int(c), piece, x))
    else:
        weights = (weights * piece).view(n, cells, 1,
                                         run).expand(n, cells, c, run)
    sums = F.avg_pool2d(x * weights.reshape(n, c, h, w), (1, piece),
                        (1, piece))
    if run > piece:
        sums = sums.reshape(n, c * cells, run // piece).sum(dim=2)
    return sums.reshape(n, cells, c)


class ExpandedPoolDCM(nn.Module):
    """:class:`DenseContextModeling` with ``pooling='official'`` whose
    exported graph pools with :func:`expanded_official_pool` and
    concatenates the pooled contexts channels-last (module docstring); in
    eager PyTorch the wrapped module runs unchanged (its raw-memory
    ``matmul`` is the faster form there).

    Args:
        dcm (DenseContextModeling): the module to wrap (official pooling).

    Shapes:
        input: list of (N, C_b, H_b, W_b) -> output: list of the same
        shapes.
    """

    def __init__(self, dcm: DenseContextModeling):
        super().__init__()
        if not isinstance(dcm, DenseContextModeling):
            raise TypeError('ExpandedPoolDCM wraps a DenseContextModeling, '
                            f'got {type(dcm).__name__}')
        if not self.applies_to(dcm):
            raise ValueError('ExpandedPoolDCM wraps a DenseContextModeling '
                             f"with pooling='official', got "
                             f'{dcm.pooling!r}')
        self.dcm = dcm

    @staticmethod
    def applies_to(dcm: DenseContextModeling) -> bool:
        """Whether ``dcm`` pools the official way (the only one rewritten)."""
        return dcm.pooling == 'official'

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        if not torch.jit.is_tracing():
            return self.dcm(x)
        dcm = self.dcm
        n, c, gh, gw = x[-1].shape
        contexts = [
            expanded_official_pool(s, mask(s), (gh, gw))
            for s, mask in zip(x[:-1], dcm.conv_masks)
        ] + [x[-1].permute(0, 2, 3, 1).reshape(n, gh * gw, c)]
        context = torch.cat(contexts, dim=2).view(n, gh, gw,
                                                  -1).permute(0, 3, 1, 2)
        return dcm.weigh(x, context)
