"""Graph-runtime rewrites (elhrnet_mm/deploy/rewrites) compute the eval-mode
blocks' function, eagerly, traced and in ONNX Runtime."""
import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from elhrnet_mm.deploy import fuse_for_inference
from elhrnet_mm.deploy.rewrites import (SpatialSoftmaxGCM,
                                        apply_graph_rewrites,
                                        softmax_context_pool)
from elhrnet_mm.models.blocks import GlobalContextModeling
from elhrnet_mm.models.blocks.global_context_modeling import context_pool


def random_eval_gcm(channels: int = 16, seed: int = 0) -> nn.Module:
    """A GCM in eval mode with non-trivial BN statistics and affine maps."""
    torch.manual_seed(seed)
    gcm = GlobalContextModeling(channels, reduction=4)
    for m in gcm.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c) * 0.1)
            m.running_var.copy_(torch.rand(c) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c) * 0.4 + 0.4)
            m.bias.data.copy_(torch.randn(c) * 0.1)
    return gcm.eval()


def eager_and_traced(module: nn.Module, x: torch.Tensor):
    """``module(x)`` eagerly and through ``torch.jit.trace`` (traced on
    another input of the same shape), and the traced graph as text."""
    with torch.no_grad():
        eager = module(x)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            traced = torch.jit.trace(module, torch.randn_like(x))
        return eager, traced(x), str(traced.inlined_graph)


@pytest.mark.parametrize('scale', [1.0, 30.0])
def test_softmax_context_pool_equals_context_pool(scale):
    torch.manual_seed(0)
    x = torch.randn(2, 8, 12, 10)
    logits = torch.randn(2, 1, 12, 10) * scale  # 30: exp overflows unshifted
    expected = context_pool(x, logits)
    actual = softmax_context_pool(x, logits)
    assert actual.shape == (2, 8, 1, 1)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)


def test_fused_gcm_becomes_spatial_softmax_gcm_and_is_exact():
    gcm = random_eval_gcm()
    x = torch.randn(2, 16, 16, 12)
    with torch.no_grad():
        expected = gcm(x)
    fused = fuse_for_inference(nn.Sequential(copy.deepcopy(gcm)))
    assert isinstance(fused[0], SpatialSoftmaxGCM)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    eager, traced_out, graph = eager_and_traced(fused, x)
    torch.testing.assert_close(eager, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(traced_out, expected, rtol=0, atol=1e-5)
    # the traced graph pools without a batched matmul (the 4-D form)
    assert 'aten::bmm' not in graph and 'aten::exp' in graph


def test_spatial_softmax_gcm_onnx_runtime_parity(tmp_path):
    pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    fused = fuse_for_inference(nn.Sequential(random_eval_gcm(seed=1)))
    x = torch.randn(1, 16, 16, 12)
    path = str(tmp_path / 'gcm.onnx')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(fused, (x, ), path, dynamo=False,
                          input_names=['input'], opset_version=17)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    op_types = {n.op_type for n in __import__('onnx').load(path).graph.node}
    assert 'MatMul' not in op_types and 'Exp' in op_types
    got = session.run(None, {'input': x.numpy()})[0]
    with torch.no_grad():
        expected = fused(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_apply_graph_rewrites_counts_and_is_idempotent():
    from elhrnet_mm.deploy.rewrites import NativeGroupedConv
    model = nn.Sequential(random_eval_gcm(), random_eval_gcm(seed=2),
                          nn.Conv2d(16, 8, 3, padding=1, groups=8))
    model.eval()
    fused = fuse_for_inference(copy.deepcopy(model))  # rewrites applied once
    assert [type(m) for m in fused] == [SpatialSoftmaxGCM] * 2 + [
        NativeGroupedConv
    ]
    assert apply_graph_rewrites(fused) == 0
    assert [type(m) for m in fused] == [SpatialSoftmaxGCM] * 2 + [
        NativeGroupedConv
    ]
    x = torch.randn(1, 16, 8, 6)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), rtol=0, atol=1e-5)


def test_spatial_softmax_gcm_rejects_other_modules():
    with pytest.raises(TypeError, match='FoldedGlobalContextModeling'):
        SpatialSoftmaxGCM(random_eval_gcm())


def test_native_grouped_conv_traces_to_one_grouped_conv():
    from elhrnet_mm.deploy.grouped_conv_as_depthwise import \
        GroupedConvAsDepthwise
    from elhrnet_mm.deploy.rewrites.native_grouped_conv import \
        NativeGroupedConv
    torch.manual_seed(0)
    conv = nn.Conv2d(12, 6, 3, padding=1, groups=6, bias=True).eval()
    x = torch.randn(2, 12, 10, 8)
    with torch.no_grad():
        expected = conv(x)
    native = NativeGroupedConv(GroupedConvAsDepthwise(conv))
    eager, traced_out, graph = eager_and_traced(native, x)
    torch.testing.assert_close(eager, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(traced_out, expected, rtol=0, atol=1e-5)
    assert graph.count('aten::_convolution') == 1
    assert 'aten::sum' not in graph
    with pytest.raises(TypeError, match='GroupedConvAsDepthwise'):
        NativeGroupedConv(conv)
