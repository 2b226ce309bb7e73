"""EL-HRNet's tiled spatial-gate rewrite (TiledGateCBAM) computes the
eval-mode CBAM's and LA-Basicblock's function eagerly, traced, in ONNX
Runtime and in OpenVINO, falls back to ConvGateCBAM's form on maps the tile
does not divide, and leaves the training form alone."""
import copy

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from elhrnet_mm.deploy import fuse_for_inference
from elhrnet_mm.deploy.rewrites import (ConvGateCBAM, SplitNConvBlock,
                                        TiledGateCBAM, apply_graph_rewrites)
from elhrnet_mm.deploy.rewrites.tiled_spatial_gate import tiled_kernel
from elhrnet_mm.models.blocks import CBAM, LABasicBlock

from test_rewrites_cbam import (export, fused_block, randomize_bn,
                                runtime_outputs, traced_output)


@pytest.mark.parametrize('block,groups,k', [(4, 1, 7), (2, 1, 5), (3, 2, 5),
                                            (4, 1, 1)])
def test_tiled_kernel_computes_the_conv(block, groups, k):
    torch.manual_seed(0)
    weight = torch.randn(2, 6 // groups, k, k, dtype=torch.float64)
    tiled = tiled_kernel(weight, block)
    size = k + block - 1
    assert tiled.shape == (2 * block**2, 6 // groups, size, size)
    # every tile channel holds the whole kernel once, zeros elsewhere
    assert tiled.ne(0).sum() == weight.ne(0).sum() * block**2
    x = torch.randn(2, 6, 4 * block, 3 * block, dtype=torch.float64)
    expected = F.conv2d(x, weight, padding=k // 2, groups=groups)
    got = F.pixel_shuffle(
        F.conv2d(x, tiled, stride=block, padding=k // 2, groups=groups),
        block)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def test_fused_cbam_becomes_tiled_gate_and_is_exact():
    torch.manual_seed(0)
    cbam = randomize_bn(CBAM(32, reduction_ratio=8))
    keys = list(cbam.state_dict())
    x = torch.randn(2, 32, 16, 12)
    with torch.no_grad():
        expected = cbam(x)
    fused = fuse_for_inference(nn.Sequential(copy.deepcopy(cbam)))
    gate = fused[0]
    assert type(gate) is TiledGateCBAM and gate.channels == 32
    assert type(gate.gates) is ConvGateCBAM and gate.cbam is gate.gates.cbam
    assert gate.tiled_weight.shape == (16, 2, 10, 10)
    assert apply_graph_rewrites(fused) == 0  # a second pass is a no-op
    with torch.no_grad():  # eager: the wrapped CBAM, unchanged
        torch.testing.assert_close(fused(x), expected, rtol=0, atol=1e-6)
    traced, graph = traced_output(fused, x)
    torch.testing.assert_close(traced, expected, rtol=0, atol=1e-5)
    # MLP (2) and the strided spatial conv, its tiles put back once
    assert graph.count('aten::_convolution') == 3
    assert graph.count('aten::pixel_shuffle') == 1
    # the training module is untouched
    assert list(cbam.state_dict()) == keys
    assert cbam.spatial_conv.with_norm


def test_tiled_gate_falls_back_where_the_block_does_not_divide_the_map():
    torch.manual_seed(1)
    cbam = randomize_bn(CBAM(16, reduction_ratio=4), seed=1)
    fused = fuse_for_inference(nn.Sequential(copy.deepcopy(cbam)))
    for shape in ((1, 16, 18, 12), (1, 16, 16, 14)):
        x = torch.randn(shape)
        traced, graph = traced_output(fused, x)
        with torch.no_grad():
            torch.testing.assert_close(traced, cbam(x), rtol=0, atol=1e-5)
        assert 'aten::pixel_shuffle' not in graph  # ConvGateCBAM's form
        assert graph.count('aten::_convolution') == 4


@pytest.mark.parametrize('block', [4, 2])
def test_tiled_gate_onnx_runtime_and_openvino_parity(tmp_path, block):
    torch.manual_seed(2)
    cbam = randomize_bn(CBAM(16, reduction_ratio=4), seed=2)
    folded = fuse_for_inference(nn.Sequential(copy.deepcopy(cbam)))
    model = nn.Sequential(TiledGateCBAM(folded[0].cbam, block=block))
    x = torch.randn(1, 16, 24, 16)
    path = str(tmp_path / 'cbam.onnx')
    ops = export(model, x, path)
    assert ops['Conv'] == 3 and ops['DepthToSpace'] == 1
    with torch.no_grad():
        expected = cbam(x).numpy()
    for got in runtime_outputs(path, x):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_la_block_with_tiled_gate_onnx_runtime_and_openvino_parity(tmp_path):
    onnx = pytest.importorskip('onnx')
    from elhrnet_mm.deploy.profile_ops import block_of
    block, fused = fused_block(seed=4)
    assert type(fused[0]) is SplitNConvBlock
    assert type(fused[0].cbam) is TiledGateCBAM
    x = torch.randn(1, 32, 16, 12)
    with torch.no_grad():
        expected = block(x)
        torch.testing.assert_close(fused(x), expected, rtol=0, atol=1e-5)
    traced, _ = traced_output(fused, x)
    torch.testing.assert_close(traced, expected, rtol=0, atol=1e-5)
    path = str(tmp_path / 'block.onnx')
    ops = export(fused, x, path)
    assert ops['DepthToSpace'] == 1
    # the gate's nodes are charged to it in per-block profiles
    names = [n.name for n in onnx.load(path).graph.node]
    assert 'TiledGateCBAM' in {block_of(n, fused) for n in names}
    for got in runtime_outputs(path, x):
        np.testing.assert_allclose(got, expected.numpy(), rtol=0, atol=1e-5)


def test_tiled_gate_rejects_bad_arguments_and_unfolded_norms():
    cbam = CBAM(16, reduction_ratio=4).eval()  # spatial BN not folded
    assert not TiledGateCBAM.applies_to(cbam)
    model = nn.Sequential(cbam)
    assert apply_graph_rewrites(model) == 0 and model[0] is cbam
    with pytest.raises(ValueError, match='no norm or activation'):
        TiledGateCBAM(cbam)
    with pytest.raises(TypeError, match='wraps a CBAM'):
        TiledGateCBAM(nn.Conv2d(2, 1, 7))
    folded = fuse_for_inference(nn.Sequential(CBAM(16, 4).eval()))[0].cbam
    for block in (0, -4, 2.0, True, '4'):
        with pytest.raises(ValueError, match='block must be a positive int'):
            TiledGateCBAM(folded, block=block)


def test_fusing_leaves_the_training_la_block_alone():
    block = LABasicBlock(32, 32)
    keys = list(block.state_dict())
    torch.manual_seed(0)
    x = torch.randn(2, 32, 8, 8)
    block.train()
    before = block(x)
    fused = fuse_for_inference(nn.Sequential(copy.deepcopy(block).eval()))
    assert type(fused[0].cbam) is TiledGateCBAM
    assert list(block.state_dict()) == keys and block.training
    assert type(block.cbam) is CBAM
    torch.manual_seed(0)
    torch.testing.assert_close(block(x), before, rtol=0, atol=0)
