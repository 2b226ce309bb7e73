"""The DMC / DGC / DSC channel shuffle as concat + reshape-transpose, for
graph runtimes.

:func:`~elhrnet_mm.models.blocks.dynamic_split_conv.concat_shuffle` stacks
the G parts on a new axis and flattens it into the channels (one copy in
eager PyTorch). Exported, the 5-D ``Unsqueeze``/``Concat``/``Reshape``
needs the plain NCHW memory of every part, so OpenVINO converts each
channels-last map to plain and back, and the ``Split`` that feeds the
block then writes plain halves too (docs/speed.md, "where the time goes").
ShuffleNet's own form, ``view(N, G, C, H * W).transpose(1, 2)`` of the
concatenation, is the same permutation of channels (output channel
``j * G + i`` is channel j of part i), which OpenVINO fuses into one
``ShuffleChannels`` on the channels-last map (the 4-D view: ONNX Runtime
transposes it faster than a 5-D one). It pays together with
:mod:`.expanded_context_pool` (DCM's pooling was the other reader of the
plain halves): Dite-HRNet-18 in OpenVINO 28.8 -> 21.4 ms with both, no
gain with either alone; ONNX Runtime within 1 ms (docs/speed.md).
"""
import torch
import torch.nn as nn

from ...models.blocks.dynamic_split_conv import ConcatShuffle


class ReshapeChannelShuffle(nn.Module):
    """:class:`ConcatShuffle` whose exported graph is ``Concat``,
    ``Reshape`` to (N, G, C, H * W), ``Transpose``, ``Reshape`` (OpenVINO:
    one ``ShuffleChannels``); in eager PyTorch the wrapped module runs
    unchanged.

    Args:
        shuffle (ConcatShuffle): the module to wrap.

    Shapes:
        G tensors (N, C, H, W) -> (N, G * C, H, W).
    """

    def __init__(self, shuffle: ConcatShuffle):
        super().__init__()
        if not isinstance(shuffle, ConcatShuffle):
            raise TypeError('ReshapeChannelShuffle wraps a ConcatShuffle, '
                            f'got {type(shuffle).__name__}')
        self.shuffle = shuffle

    def forward(self, *parts: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing():
            return self.shuffle(*parts)
        x = torch.cat(parts, dim=1)
        n, c, h, w = x.shape
        groups = len(parts)
        return x.view(n, groups, c // groups,
                      h * w).transpose(1, 2).reshape(n, c, h, w)
