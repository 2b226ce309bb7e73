"""Grouped convolutions exported as one native grouped ``Conv``.

:class:`~elhrnet_mm.deploy.grouped_conv_as_depthwise.GroupedConvAsDepthwise`
computes a grouped conv with one output per group as a depthwise conv and a
sum over each group, because PyTorch's CPU path for such grouped convs is
slow. In an exported graph that form is a ``Conv``, a 5-D ``Reshape`` and a
``ReduceSum``, and the 5-D reshape makes OpenVINO convert the map out of
its blocked layout and back; ONNX Runtime and OpenVINO have their own
grouped-conv kernels (docs/speed.md, "where the time goes").
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..grouped_conv_as_depthwise import GroupedConvAsDepthwise


class NativeGroupedConv(nn.Module):
    """:class:`GroupedConvAsDepthwise` whose exported graph is the grouped
    conv itself: in eager PyTorch the wrapped module runs unchanged, under
    tracing one ``conv2d(x, W, b, groups=G)`` with the original (G, C_in /
    G, kh, kw) kernel (reshaped from the wrapped module's).

    Args:
        module (GroupedConvAsDepthwise): the form to wrap.

    Shapes:
        input (N, C_in, H, W) -> output (N, G, H_out, W_out).
    """

    def __init__(self, module: GroupedConvAsDepthwise):
        super().__init__()
        if not isinstance(module, GroupedConvAsDepthwise):
            raise TypeError('NativeGroupedConv wraps a GroupedConvAsDepthwise'
                            f', got {type(module).__name__}')
        self.depthwise = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.depthwise
        if not torch.jit.is_tracing():
            return m(x)
        weight = m.weight.reshape(m.groups, -1, *m.weight.shape[2:])
        return F.conv2d(x, weight, m.bias, m.stride, m.padding, m.dilation,
                        m.groups)
