"""GCM's attention pooling on the channels-last view of the map, for graph
runtimes.

:func:`~elhrnet_mm.models.blocks.global_context_modeling.context_pool`
flattens the map, soft-maxes the logits over the H*W positions and pools
with a batched matrix product ``(C, HW) x (HW, 1)``. In an exported graph
the flattening reshape of the (N, C, H, W) map makes OpenVINO convert the
map out of its blocked (channels-last) layout and back, a ``Reorder`` of
the whole map in every GCM (docs/speed.md, "where the time goes"). The
same product the other way round,

    sum_p softmax(l)_p x_p = softmax(l)^T X,  X = x.permute(0, 2, 3, 1)
    viewed as (N, HW, C),

reads the map through its channels-last view, which is the memory
OpenVINO already holds: the permute costs nothing there and the pooling is
one ``MatMul`` ``(1, HW) x (HW, C)`` after a ``Softmax`` of the flattened
(1-channel) logits. Against the earlier 4-D form (``exp(l - max l)``, its
sum, a broadcast multiply and a spatial sum over the C-channel map) that
is ~40 instead of ~75 us per 20-channel 64x48 map in OpenVINO; ONNX Runtime
(plain NCHW) pays a transpose of the map instead of those nodes, about the
same time.
"""
import torch
import torch.nn as nn

from ...models.blocks.folded_global_context_modeling import \
    FoldedGlobalContextModeling


def softmax_context_pool(x: torch.Tensor,
                         logits: torch.Tensor) -> torch.Tensor:
    """``context_pool(x, logits)`` (one global cell) as ``softmax(l)^T X``
    on the channels-last view ``X`` of ``x`` (module docstring).

    Shapes:
        x (N, C, H, W), logits (N, 1, H, W) -> (N, C, 1, 1).
    """
    n, c, h, w = x.shape
    weights = logits.reshape(n, 1, h * w).softmax(dim=2)
    pixels = x.permute(0, 2, 3, 1).reshape(n, h * w, c)
    return torch.matmul(weights, pixels).view(n, c, 1, 1)


class SpatialSoftmaxGCM(nn.Module):
    """:class:`FoldedGlobalContextModeling` whose exported graph pools with
    :func:`softmax_context_pool`.

    ``y = x * (g * scale) + shift`` with the gate ``g = sigmoid(MLP(
    pool(x)))`` of the wrapped GCM's own layers. In eager PyTorch it runs
    the wrapped module unchanged (its ``bmm`` pooling is the faster one
    there); under tracing (ONNX export) the pooling reads the channels-last
    view of the map, which OpenVINO runs without layout conversions
    (docs/speed.md).

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
