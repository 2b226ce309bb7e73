"""EL-HRNet's and CBAM-LiteHRNet's graph-runtime rewrites (ConvGateCBAM,
ConvGateStackedCBAM, SplitNConvBlock) compute
the eval-mode blocks' function eagerly, traced, in ONNX Runtime and in
OpenVINO, and leave the training forms alone."""
import collections
import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from elhrnet_mm.deploy import fuse_for_inference
from elhrnet_mm.deploy.rewrites import (ConvGateCBAM, ConvGateStackedCBAM,
                                        SplitNConvBlock, TiledGateCBAM,
                                        apply_graph_rewrites)
from elhrnet_mm.models.blocks import (CBAM, CBAMCrossResolutionWeighting,
                                      LABasicBlock, LBasicBlock)
from elhrnet_mm.models.blocks.cbam import StackedCBAM


def randomize_bn(module: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BN statistics and affine maps, and conv biases (mmcv
    initialises them to 0); returns module.eval()."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and m.bias is not None:
            m.bias.data.copy_(torch.randn(m.out_channels, generator=g) * 0.3)
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.2)
    return module.eval()


def traced_output(module: nn.Module, x: torch.Tensor):
    """``module`` traced on another input of ``x``'s shape, run on ``x``,
    and the traced graph as text."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        traced = torch.jit.trace(module, torch.randn_like(x))
        return traced(x), str(traced.inlined_graph)


def export(module: nn.Module, x: torch.Tensor,
           path: str) -> collections.Counter:
    """Export to ONNX; returns the graph's op-type counts."""
    onnx = pytest.importorskip('onnx')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(module, (x, ), path, dynamo=False,
                          input_names=['x'], opset_version=17)
    return collections.Counter(n.op_type for n in onnx.load(path).graph.node)


def runtime_outputs(path: str, x: torch.Tensor):
    """The exported model's output in ONNX Runtime and in OpenVINO (f32)."""
    ort = pytest.importorskip('onnxruntime')
    pytest.importorskip('openvino')
    from elhrnet_mm.deploy.openvino_runtime import compile_model
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    compiled = compile_model(path)
    feeds = {'x': x.numpy()}
    return (session.run(None, feeds)[0],
            compiled(feeds)[compiled.output(0)])


# ---------------------------------------------------------------- CBAM


def test_fused_cbam_becomes_conv_gate_cbam_and_is_exact():
    torch.manual_seed(0)
    cbam = randomize_bn(CBAM(32, reduction_ratio=8))
    # H, W not multiples of TiledGateCBAM's block: ConvGateCBAM's form
    x = torch.randn(2, 32, 18, 14)
    with torch.no_grad():
        expected = cbam(x)
    fused = fuse_for_inference(nn.Sequential(copy.deepcopy(cbam)))
    assert isinstance(fused[0].gates, ConvGateCBAM)
    assert fused[0].gates.channels == 32
    with torch.no_grad():  # eager: the wrapped CBAM, unchanged
        torch.testing.assert_close(fused(x), expected, rtol=0, atol=1e-6)
    traced, graph = traced_output(fused, x)
    torch.testing.assert_close(traced, expected, rtol=0, atol=1e-5)
    # the traced form: no batch-stacked descriptors split back, no
    # channel concatenation of the max/mean maps, 4 convolutions
    assert 'aten::slice' not in graph
    assert graph.count('aten::_convolution') == 4


def test_conv_gate_cbam_onnx_runtime_and_openvino_parity(tmp_path):
    torch.manual_seed(1)
    cbam = randomize_bn(CBAM(16, reduction_ratio=4), seed=1)
    fused = fuse_for_inference(nn.Sequential(cbam))
    x = torch.randn(1, 16, 18, 14)  # not tiled (TiledGateCBAM)
    path = str(tmp_path / 'cbam.onnx')
    ops = export(fused, x, path)
    # MLP (2), depthwise kxk over [max; mean], their 1x1 sum
    assert ops['Conv'] == 4 and ops['Split'] == 0 and ops['Slice'] == 0
    with torch.no_grad():
        expected = cbam(x).numpy()
    for got in runtime_outputs(path, x):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_conv_gate_cbam_keeps_the_activation_and_a_biasless_spatial_conv():
    torch.manual_seed(2)
    cbam = CBAM(16, reduction_ratio=4, norm_cfg=None,
                act_cfg=dict(type='GELU'))
    cbam.spatial_conv.conv.bias = None  # spatial conv without norm or bias
    cbam = nn.Sequential(randomize_bn(cbam))
    x = torch.randn(1, 16, 9, 7)
    with torch.no_grad():
        expected = cbam(x)
    wrapped = nn.Sequential(ConvGateCBAM(copy.deepcopy(cbam[0])))
    traced, _ = traced_output(wrapped, x)
    torch.testing.assert_close(traced, expected, rtol=0, atol=1e-5)


def test_cbam_with_unfolded_norm_is_left_alone():
    cbam = CBAM(16, reduction_ratio=4, norm_cfg=dict(type='GN',
                                                    num_groups=1)).eval()
    model = nn.Sequential(cbam)
    assert not ConvGateCBAM.applies_to(cbam)
    assert apply_graph_rewrites(model) == 0 and model[0] is cbam
    with pytest.raises(ValueError, match='no norm or activation'):
        ConvGateCBAM(cbam)
    with pytest.raises(TypeError, match='wraps a CBAM'):
        ConvGateCBAM(nn.Conv2d(2, 1, 7))


# ------------------------------------ StackedCBAM (CBAM-LiteHRNet)


def cbam_unit(seed: int = 0) -> nn.Module:
    """An eval-mode CBAM-LiteHRNet cross-resolution weighting, 3 branches,
    random BN statistics."""
    torch.manual_seed(seed)
    return randomize_bn(
        CBAMCrossResolutionWeighting([8, 16, 32], ratio=4,
                                     cbam_reduction_ratio=4,
                                     norm_cfg=dict(type='BN')), seed)


class UnitOnList(nn.Module):
    """The unit on three tensors (tracing and export need tensor args)."""

    def __init__(self, unit: nn.Module):
        super().__init__()
        self.unit = unit

    def forward(self, a, b, c):
        return tuple(self.unit([a, b, c]))


def unit_inputs():
    return (torch.randn(1, 8, 16, 12), torch.randn(1, 16, 8, 6),
            torch.randn(1, 32, 4, 3))


def test_fused_unit_stacked_cbam_becomes_conv_gate_and_is_exact():
    unit = cbam_unit()
    x = unit_inputs()
    state = {k: v.clone() for k, v in unit.state_dict().items()}
    with torch.no_grad():
        expected = unit(list(x))
    fused = UnitOnList(fuse_for_inference(copy.deepcopy(unit)))
    wrapper = fused.unit.cbams
    assert isinstance(wrapper, ConvGateStackedCBAM)
    assert type(wrapper.stacked) is StackedCBAM
    assert wrapper.channels == [8, 16, 32]
    # E: channel c -> its branch's gate, one 1 per row
    assert wrapper.spread_weight.flatten(1).sum(1).eq(1).all()
    assert wrapper.spread_weight[:8, 0].eq(1).all()
    assert wrapper.spread_weight[24:, 2].eq(1).all()
    with torch.no_grad():  # eager: the wrapped StackedCBAM, unchanged
        for got, want in zip(fused(*x), expected):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        traced = torch.jit.trace(fused, tuple(torch.randn_like(t)
                                              for t in x))
        graph = str(traced.inlined_graph)
        for got, want in zip(traced(*x), expected):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    # no gate gather, no split of batch-stacked descriptors
    assert 'aten::index_select' not in graph
    # training form untouched: parameters, buffers and outputs
    assert unit.state_dict().keys() == state.keys()
    for k, v in unit.state_dict().items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)
    unit.train()
    with torch.no_grad():
        reference = copy.deepcopy(unit)(list(x))
        for got, want in zip(unit(list(x)), reference):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_conv_gate_stacked_cbam_onnx_runtime_and_openvino_parity(tmp_path):
    ort = pytest.importorskip('onnxruntime')
    pytest.importorskip('openvino')
    from elhrnet_mm.deploy.openvino_runtime import compile_model
    unit = cbam_unit(seed=3)
    x = unit_inputs()
    with torch.no_grad():
        expected = [t.numpy() for t in unit(list(x))]
    fused = UnitOnList(fuse_for_inference(copy.deepcopy(unit)))
    path = str(tmp_path / 'unit.onnx')
    onnx = pytest.importorskip('onnx')
    names = ['a', 'b', 'c']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(fused, x, path, dynamo=False, input_names=names,
                          opset_version=17)
    ops = collections.Counter(n.op_type for n in onnx.load(path).graph.node)
    assert ops['Gather'] == 0
    feeds = {n: t.numpy() for n, t in zip(names, x)}
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    compiled = compile_model(path)
    ov_out = compiled(feeds)
    outputs = (session.run(None, feeds),
               [ov_out[compiled.output(i)] for i in range(3)])
    for got in outputs:
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=0, atol=1e-5)


def test_conv_gate_stacked_cbam_wraps_only_stacked_cbams():
    with pytest.raises(TypeError, match='wraps a StackedCBAM'):
        ConvGateStackedCBAM(CBAM(16, 4))


# ---------------------------------------------------- L-/LA-Basicblock


def fused_block(block_type=LABasicBlock, in_channels=32, out_channels=32,
                seed=0, **kwargs):
    torch.manual_seed(seed)
    downsample = None
    if in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels))
    block = randomize_bn(
        block_type(in_channels, out_channels, downsample=downsample,
                   **kwargs), seed)
    return block, fuse_for_inference(nn.Sequential(copy.deepcopy(block)))


@pytest.mark.parametrize('block_type,in_channels',
                         [(LABasicBlock, 32), (LBasicBlock, 32),
                          (LABasicBlock, 16)])
def test_fused_block_becomes_split_nconv_block_and_is_exact(
        block_type, in_channels):
    block, fused = fused_block(block_type, in_channels, 32)
    assert type(fused[0]) is SplitNConvBlock
    assert (type(getattr(fused[0].block, 'cbam', None)) is TiledGateCBAM) \
        == (block_type is LABasicBlock)
    x = torch.randn(2, in_channels, 16, 12)
    with torch.no_grad():
        expected = block(x)
        torch.testing.assert_close(fused(x), expected, rtol=0, atol=1e-5)
    traced, graph = traced_output(fused, x)
    torch.testing.assert_close(traced, expected, rtol=0, atol=1e-5)
    # one concatenation of full maps (the second NConv3x3's) instead of two
    cats = graph.count('aten::cat')
    unwrapped = copy.deepcopy(fused)
    unwrapped[0] = unwrapped[0].block
    assert cats == traced_output(unwrapped, x)[1].count('aten::cat') - 1


def test_split_nconv_block_onnx_runtime_and_openvino_parity(tmp_path):
    onnx = pytest.importorskip('onnx')
    from elhrnet_mm.deploy.profile_ops import block_of
    block, fused = fused_block(seed=3)
    x = torch.randn(1, 32, 24, 16)
    path = str(tmp_path / 'block.onnx')
    ops = export(fused, x, path)
    # the second NConv3x3's concat and the CBAM's [avg; max] descriptors
    assert ops['Concat'] == 2
    # the CBAM's nodes are charged to it in per-block profiles
    blocks = {block_of(n.name, fused) for n in onnx.load(path).graph.node}
    assert {'SplitNConvBlock', 'TiledGateCBAM'} <= blocks
    with torch.no_grad():
        expected = block(x).numpy()
    for got in runtime_outputs(path, x):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_block_with_an_activation_inside_nconv_is_not_split():
    # an activation after the second NConv3x3's 1x1 conv: not linear
    block, fused = fused_block(nconv_act_cfg=dict(type='ReLU'))
    assert type(fused[0]) is LABasicBlock
    assert not SplitNConvBlock.applies_to(fused[0])
    with pytest.raises(ValueError, match='FoldedNConv3x3'):
        SplitNConvBlock(fused[0])
    with pytest.raises(TypeError, match='LBasicBlock'):
        SplitNConvBlock(nn.Conv2d(2, 2, 1))
    x = torch.randn(1, 32, 8, 6)
    traced, _ = traced_output(fused, x)
    with torch.no_grad():
        torch.testing.assert_close(traced, block(x), rtol=0, atol=1e-5)


def test_unfused_block_is_not_split_and_training_form_is_unchanged():
    block = LABasicBlock(32, 32)
    keys = list(block.state_dict())
    assert not SplitNConvBlock.applies_to(block)  # BNs not folded
    assert apply_graph_rewrites(nn.Sequential(block)) == 0
    # fusing a copy leaves the training module, its names and outputs
    torch.manual_seed(0)
    x = torch.randn(2, 32, 8, 6)
    block.train()
    before = block(x)
    fuse_for_inference(nn.Sequential(copy.deepcopy(block)))
    assert list(block.state_dict()) == keys and block.training
    torch.manual_seed(0)
    torch.testing.assert_close(block(x), before, rtol=0, atol=0)
