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
  repeated C times, ``expand(N, cells, C, S)``, read as (N, C, H, W);
* ``x * that`` summed over each run: an average pool over row pieces of
  ``P = gcd(S, W)`` pixels (a run is S / P consecutive pieces; the weights
  carry the factor P, a power of two for Dite-HRNet's sizes), then the sum
  of S / P consecutive pieces in raw order, on a map P times smaller;
* the run sums, in raw order q, viewed as (N, cells, C) and transposed:
  ``out[:, j, r]``.
"""
import math
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...models.blocks.dense_context_modeling import DenseContextModeling


def expanded_official_pool(x: torch.Tensor, logits: torch.Tensor,
                           grid: Tuple[int, int]) -> torch.Tensor:
    """``official_context_pool(x, logits, grid)`` in 4-D operators on ``x``
    (module docstring).

    Shapes:
        x (N, C, H, W), logits (N, 1, H, W), ``gh * gw`` dividing H * W
        -> (N, C, gh, gw).
    """
    n, c, h, w = x.shape
    cells = grid[0] * grid[1]
    run = h * w // cells
    piece = math.gcd(run, w)
    weights = logits.reshape(n, h * w).softmax(dim=1) * piece
    weights = weights.view(n, cells, 1, run).expand(n, cells, c, run)
    sums = F.avg_pool2d(x * weights.reshape(n, c, h, w), (1, piece),
                        (1, piece))
    if run > piece:
        sums = sums.reshape(n, c * cells, run // piece).sum(dim=2)
    return sums.reshape(n, cells, c).transpose(1, 2).reshape(n, c, *grid)


class ExpandedPoolDCM(nn.Module):
    """:class:`DenseContextModeling` with ``pooling='official'`` whose
    exported graph pools with :func:`expanded_official_pool`; in eager
    PyTorch the wrapped module runs unchanged (its raw-memory ``matmul`` is
    the faster form there).

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
        return self.dcm.reweight(x, expanded_official_pool)
