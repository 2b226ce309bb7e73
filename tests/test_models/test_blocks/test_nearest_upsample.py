import pytest
import torch
import torch.nn.functional as F

from elhrnet_mm.models.blocks.nearest_upsample import nearest_upsample


@pytest.mark.parametrize('in_size,out_size', [((4, 3), (8, 6)),
                                              ((2, 3), (16, 24)),
                                              ((4, 3), (8, 3)),
                                              ((4, 3), (4, 3)),
                                              ((3, 3), (7, 5))])
def test_equals_interpolate_bit_for_bit(in_size, out_size):
    x = torch.randn(2, 5, *in_size)
    torch.testing.assert_close(
        nearest_upsample(x, out_size),
        F.interpolate(x, size=out_size, mode='nearest'), rtol=0, atol=0)


class _Scaled(torch.nn.Module):

    def __init__(self, upsample):
        super().__init__()
        self.upsample = upsample

    def forward(self, x):
        return x * self.upsample(x[:, :, ::2, ::2], x.shape[-2:])


def test_traced_graph_has_the_interpolate_op_flop_counters_count():
    """mmengine's counter (and the ONNX exporter) traces: the graph must
    hold the same upsample op as with F.interpolate, so the FLOPs of our
    blocks count it as MMPose's own modules do."""
    from mmengine.analysis import FlopAnalyzer

    x = torch.randn(1, 4, 8, 6)

    def interpolate(t, size):
        return F.interpolate(t, size=size, mode='nearest')

    ours, reference = _Scaled(nearest_upsample), _Scaled(interpolate)
    graph = str(torch.jit.trace(ours, x).graph)
    assert 'aten::upsample_nearest2d' in graph and 'aten::expand' not in graph
    flops = FlopAnalyzer(ours, (x, )).total()
    assert flops > 0
    assert flops == FlopAnalyzer(reference, (x, )).total()
