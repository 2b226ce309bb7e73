"""GCM's attention pooling in 4-D operators, for graph runtimes.

:func:`~elhrnet_mm.models.blocks.global_context_modeling.context_pool`
flattens the map, soft-maxes the logits over the H*W positions and pools
with a batched matrix product. In an exported graph the flattening reshape
of the (N, C, H, W) map makes OpenVINO convert the map out of its blocked
(channels-last) layout and back, a ``Reorder`` of the whole map in every
GCM (docs/speed.md, "where the time goes"). The same pooling in 4-D
operators has no reshape of the map:

    sum_p softmax(l)_p x_p = sum_p (e_p / sum_q e_q) x_p,
    e = exp(l - max_q l_q)

(the usual max-subtracted softmax, a broadcast multiply and spatial sums).
"""
import torch
import torch.nn as nn

from ...models.blocks.folded_global_context_modeling import \
    FoldedGlobalContextModeling


def softmax_context_pool(x: torch.Tensor,
                         logits: torch.Tensor) -> torch.Tensor:
    """``context_pool(x, logits)`` (one global cell) without flattening
    ``x``.

    Shapes:
        x (N, C, H, W), logits (N, 1, H, W) -> (N, C, 1, 1).
    """
    e = torch.exp(logits - logits.amax(dim=(2, 3), keepdim=True))
    weights = e / e.sum(dim=(2, 3), keepdim=True)
    return (x * weights).sum(dim=(2, 3), keepdim=True)


class SpatialSoftmaxGCM(nn.Module):
    """:class:`FoldedGlobalContextModeling` whose exported graph pools with
    :func:`softmax_context_pool`.

    ``y = x * (g * scale) + shift`` with the gate ``g = sigmoid(MLP(
    pool(x)))`` of the wrapped GCM's own layers. In eager PyTorch it runs
    the wrapped module unchanged (its ``bmm`` pooling is the faster one
    there); under tracing (ONNX export) the pooling is the 4-D form, which
    OpenVINO runs without layout conversions (docs/speed.md).

    Args:
        folded (FoldedGlobalContextModeling): the deploy form to wrap.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W).
    """

    def __init__(self, folded: FoldedGlobalContextModeling):
        super().__init__()
        if not isinstance(folded, FoldedGlobalContextModeling):
            raise TypeError('SpatialSoftmaxGCM wraps a '
                            'FoldedGlobalContextModeling, got '
                            f'{type(folded).__name__}')
        self.folded = folded

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing():
            return self.folded(x)
        gcm = self.folded.gcm
        context = softmax_context_pool(x, gcm.conv_mask(x))
        gate = torch.sigmoid(gcm.channel_attention(context))
        return torch.addcmul(self.folded.out_shift, x,
                             gate * self.folded.gate_scale)
