"""Per-operator profiles of exported networks (elhrnet_mm/deploy/profile_ops)."""
import warnings

import pytest
import torch
import torch.nn as nn

from elhrnet_mm.deploy.profile_ops import (RUNTIME_BLOCK, NodeTime, block_of,
                                           format_rows, parse_ort_profile,
                                           profile_nodes, summarize)
from elhrnet_mm.models.blocks import CBAM


def _run(ts, dur):
    return dict(cat='Session', name='model_run', ts=ts, dur=dur)


def _node(name, op, ts, dur):
    return dict(cat='Node', name=f'{name}_kernel_time', ts=ts, dur=dur,
                args=dict(op_name=op))


def test_parse_ort_profile_skips_warmup_and_averages():
    events = [
        _run(0, 100), _node('/a/Conv', 'Conv', 10, 50),  # warm-up run
        _run(200, 100), _node('/a/Conv', 'Conv', 210, 30),
        _node('/a/Relu', 'Relu', 250, 4),
        dict(cat='Node', name='/a/Conv_fence_before', ts=205, dur=1,
             args=dict(op_name='Conv')),
        _run(400, 100), _node('/a/Conv', 'Conv', 410, 10),
        _node('/a/Relu', 'Relu', 450, 6)
    ]
    nodes = {n.name: n for n in parse_ort_profile(events, warmup=1)}
    assert set(nodes) == {'/a/Conv', '/a/Relu'}
    assert nodes['/a/Conv'].us == pytest.approx(20.0)
    assert nodes['/a/Relu'].us == pytest.approx(5.0)
    assert nodes['/a/Conv'].op_type == 'Conv'
    with pytest.raises(ValueError, match='warm-up'):
        parse_ort_profile(events, warmup=3)


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.layers = nn.ModuleList([CBAM(8, reduction_ratio=2)])

    def forward(self, x):
        return self.layers[0](self.stem(x))


def test_block_of_maps_exporter_scopes_to_blocks():
    net = _Net()
    assert block_of('/layers/layers.0/channel_mlp/channel_mlp.0/conv/Conv',
                    net) == 'CBAM'
    assert block_of('/layers/layers.0/ReduceMax', net) == 'CBAM'
    assert block_of('/stem/stem.0/Conv', net) == '_Net'
    assert block_of('/unknown/Conv', net) == '_Net'
    assert block_of('ReorderOutput_token_12', net) == RUNTIME_BLOCK


def test_summarize_groups_and_shares():
    nodes = [NodeTime('/stem/stem.0/Conv', 'Conv', 300.0),
             NodeTime('/layers/layers.0/ReduceMax', 'ReduceMax', 100.0),
             NodeTime('/layers/layers.0/spatial_conv/conv/Conv', 'Conv',
                      100.0)]
    by_op = summarize(nodes, 'op_type')
    assert [(r['key'], r['nodes']) for r in by_op] == [('Conv', 2),
                                                       ('ReduceMax', 1)]
    assert by_op[0]['ms'] == pytest.approx(0.4)
    assert sum(r['share'] for r in by_op) == pytest.approx(1.0)
    by_block = summarize(nodes, 'block', _Net())
    assert {r['key']: r['ms'] for r in by_block} == pytest.approx(
        {'_Net': 0.3, 'CBAM': 0.2})
    text = format_rows(by_op, top=1)
    assert '(other)' in text and 'total' in text and '0.500' in text
    with pytest.raises(ValueError, match='allowed'):
        summarize(nodes, 'module')
    with pytest.raises(ValueError, match='exported model'):
        summarize(nodes, 'block')


@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino'])
def test_profile_nodes_of_an_exported_network(tmp_path, runtime):
    pytest.importorskip('onnx')
    pytest.importorskip(runtime)
    net = _Net().eval()
    x = torch.randn(1, 3, 16, 12)
    path = str(tmp_path / 'net.onnx')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(net, (x, ), path, dynamo=False, opset_version=17)
    nodes = profile_nodes(runtime, path, x.numpy(), runs=2, warmup=1)
    assert nodes and all(n.us >= 0 for n in nodes)
    blocks = {r['key'] for r in summarize(nodes, 'block', net)}
    assert 'CBAM' in blocks  # the exporter's scopes were resolved
    with pytest.raises(ValueError, match='runs'):
        profile_nodes(runtime, path, x.numpy(), runs=0)


def test_profile_nodes_rejects_unknown_runtime():
    with pytest.raises(ValueError, match='onnxruntime'):
        profile_nodes('tensorrt', 'x.onnx', None)
