"""EDite-HRNet's graph-runtime rewrites (elhrnet_mm/deploy/rewrites) compute
the eval-mode blocks' function: eagerly, traced, in ONNX Runtime and in
OpenVINO."""
import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from elhrnet_mm.deploy import fuse_for_inference
from elhrnet_mm.deploy.rewrites import (DepthwiseGroupSumConv,
                                        MergedGhostSplitConv,
                                        StagewiseMixConv,
                                        apply_graph_rewrites)
from elhrnet_mm.models.blocks.dynamic_split_conv import DynamicSplitConv
from elhrnet_mm.models.blocks.edmc_block import MixConv


def assert_openvino_matches(exported):
    """The exported file run in OpenVINO gives the expected output."""
    pytest.importorskip('openvino')
    from elhrnet_mm.deploy.openvino_runtime import compile_model
    path, feeds, expected = exported
    got = compile_model(path).create_infer_request().infer(feeds)
    np.testing.assert_allclose(
        next(iter(got.values())), expected, rtol=0, atol=1e-5)


class StagesAsArgs(nn.Module):
    """``mix([a, b, c])`` as a module of three tensor inputs (tracing and
    export take tensors)."""

    def __init__(self, mix):
        super().__init__()
        self.mix = mix

    def forward(self, a, b, c):
        return self.mix([a, b, c])


def fused_mix(mix):
    """The eval-mode MixConv ``mix`` (in :class:`StagesAsArgs`) and its
    fused copy."""
    model = StagesAsArgs(mix)
    return model, fuse_for_inference(copy.deepcopy(model))


def test_fused_depthwise_mix_is_stagewise_and_exact(random_eval_mix):
    model, fused = fused_mix(random_eval_mix())
    assert isinstance(fused.mix, StagewiseMixConv)
    assert apply_graph_rewrites(fused) == 0
    stages = tuple(torch.randn(2, 6, 9, 7) for _ in range(3))
    with torch.no_grad():
        expected = model(*stages)
        torch.testing.assert_close(
            fused(*stages), expected, rtol=0, atol=1e-5)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            traced = torch.jit.trace(
                fused, tuple(torch.randn_like(s) for s in stages))
        torch.testing.assert_close(
            traced(*stages), expected, rtol=0, atol=1e-5)
    graph = str(traced.inlined_graph)
    # S convs on the stages themselves, no concatenation (the exported
    # graph has no reshape either, below)
    assert graph.count('aten::_convolution') == 3
    assert 'aten::cat' not in graph


def test_dense_mix_is_not_rewritten():
    mix = MixConv(3, 6, groups=1).eval()
    fused = fuse_for_inference(StagesAsArgs(mix))
    assert type(fused.mix) is MixConv


def test_stagewise_mix_rejects_other_modules_and_stage_counts(
        random_eval_mix):
    with pytest.raises(TypeError, match='FoldedMixConv'):
        StagewiseMixConv(random_eval_mix())
    _, fused = fused_mix(random_eval_mix())
    stages = [torch.randn(1, 6, 5, 4) for _ in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        with pytest.raises(ValueError, match='3 stage maps, got 2'):
            torch.jit.trace(lambda a, b: fused.mix([a, b]), tuple(stages))


@pytest.fixture
def exported_mix(tmp_path, random_eval_mix):
    """The fused depthwise MixConv exported to ONNX (inputs a, b, c), the
    inputs and the eval-mode output."""
    pytest.importorskip('onnx')
    model, fused = fused_mix(random_eval_mix(seed=1))
    stages = tuple(torch.randn(1, 6, 12, 10) for _ in range(3))
    with torch.no_grad():
        expected = model(*stages).numpy()
    path = str(tmp_path / 'mix.onnx')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(fused, stages, path, dynamo=False,
                          input_names=['a', 'b', 'c'], opset_version=17)
    feeds = {k: s.numpy() for k, s in zip('abc', stages)}
    return path, feeds, expected


def test_stagewise_mix_onnx_graph_and_runtime_parity(exported_mix):
    import onnx
    ort = pytest.importorskip('onnxruntime')
    path, feeds, expected = exported_mix
    ops = sorted(n.op_type for n in onnx.load(path).graph.node
                 if n.op_type != 'Constant')  # the kernels and the bias
    assert ops == ['Add', 'Add', 'Conv', 'Conv', 'Conv']
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    np.testing.assert_allclose(
        session.run(None, feeds)[0], expected, rtol=0, atol=1e-5)


def test_stagewise_mix_openvino_parity(exported_mix):
    assert_openvino_matches(exported_mix)


def grouped_primary_conv(in_channels=20, groups=10, kernel=3, seed=0):
    """An eval-mode 2-to-1 grouped conv (GhostModuleV2's primary conv)."""
    torch.manual_seed(seed)
    return nn.Conv2d(
        in_channels, groups, kernel, padding=kernel // 2,
        groups=groups).eval()


@pytest.mark.parametrize('kernel', [3, 5])
def test_grouped_conv_becomes_depthwise_group_sum_and_is_exact(kernel):
    conv = grouped_primary_conv(kernel=kernel)
    x = torch.randn(2, 20, 12, 10)
    with torch.no_grad():
        expected = conv(x)
    fused = fuse_for_inference(nn.Sequential(copy.deepcopy(conv)))
    assert type(fused[0]) is DepthwiseGroupSumConv
    assert apply_graph_rewrites(fused) == 0
    # 0/1 matrix: output j sums the depthwise outputs 2j and 2j + 1
    s = fused[0].group_sum.view(10, 20)
    assert s.sum().item() == 20 and s[3, 6] == 1 and s[3, 7] == 1
    with torch.no_grad():
        torch.testing.assert_close(fused(x), expected, rtol=0, atol=1e-5)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            traced = torch.jit.trace(fused, torch.randn_like(x))
        torch.testing.assert_close(traced(x), expected, rtol=0, atol=1e-5)
    graph = str(traced.inlined_graph)
    assert graph.count('aten::_convolution') == 2
    assert 'aten::sum' not in graph and 'aten::view' not in graph


def test_large_group_counts_stay_native_grouped_convs():
    from elhrnet_mm.deploy.grouped_conv_as_depthwise import \
        GroupedConvAsDepthwise
    from elhrnet_mm.deploy.rewrites import NativeGroupedConv
    big = grouped_primary_conv(in_channels=80, groups=40)  # 40 > 4 * 9
    fused = fuse_for_inference(nn.Sequential(big))
    assert type(fused[0]) is NativeGroupedConv
    with pytest.raises(ValueError, match='groups=40'):
        DepthwiseGroupSumConv(GroupedConvAsDepthwise(big))
    with pytest.raises(TypeError, match='GroupedConvAsDepthwise'):
        DepthwiseGroupSumConv(big)


@pytest.fixture
def exported_group_sum(tmp_path):
    """The fused grouped conv exported to ONNX, an input, the conv's
    output."""
    pytest.importorskip('onnx')
    conv = grouped_primary_conv(seed=1)
    x = torch.randn(1, 20, 16, 12)
    with torch.no_grad():
        expected = conv(x).numpy()
    fused = fuse_for_inference(nn.Sequential(copy.deepcopy(conv)))
    path = str(tmp_path / 'group_sum.onnx')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(fused, (x, ), path, dynamo=False,
                          input_names=['input'], opset_version=17)
    return path, {'input': x.numpy()}, expected


def test_depthwise_group_sum_onnx_graph_and_runtime_parity(
        exported_group_sum):
    import onnx
    ort = pytest.importorskip('onnxruntime')
    path, feeds, expected = exported_group_sum
    nodes = [n for n in onnx.load(path).graph.node if n.op_type == 'Conv']
    assert len(nodes) == 2
    groups = [
        next((a.i for a in n.attribute if a.name == 'group'), 1)
        for n in nodes
    ]
    assert groups == [20, 1]  # depthwise, then the 1x1 group sum
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    np.testing.assert_allclose(
        session.run(None, feeds)[0], expected, rtol=0, atol=1e-5)


def test_depthwise_group_sum_openvino_parity(exported_group_sum):
    assert_openvino_matches(exported_group_sum)


def random_eval_enhanced_dsc(channels=16, groups=2, seed=0):
    """An eval-mode DSC of ``groups`` Enhanced ConvBN splits (kernels 3, 5,
    ...) with non-trivial BN statistics and affine parameters."""
    torch.manual_seed(seed)
    dsc = DynamicSplitConv(
        channels, num_groups=groups, num_kernels=1,
        conv_bn_cfg=dict(type='EnhancedConvBN'))
    for m in dsc.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, std=0.3)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.3)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.3)
    return dsc.eval()


def fused_dsc(groups=2, seed=0):
    """The eval-mode Enhanced-ConvBN DSC (in a Sequential) and its fused
    copy."""
    model = nn.Sequential(random_eval_enhanced_dsc(groups=groups, seed=seed))
    return model, fuse_for_inference(copy.deepcopy(model))


@pytest.mark.parametrize('groups', [2, 4])
def test_enhanced_dsc_becomes_merged_ghost_split_conv_and_is_exact(groups):
    model, fused = fused_dsc(groups)
    assert type(fused[0]) is MergedGhostSplitConv
    assert apply_graph_rewrites(fused) == 0
    # the group sum writes split i's group j to channel j G + i
    s = fused[0].group_sum.view(8, 16)
    split = 16 // groups
    assert s.sum().item() == 16
    assert s[1 * groups + 1, split + 2] == 1 == s[1 * groups + 1, split + 3]
    for shape in ((2, 16, 10, 6), (1, 16, 9, 7)):  # even and odd maps
        x = torch.randn(*shape)
        with torch.no_grad():
            expected = model(x)
            torch.testing.assert_close(
                fused(x), expected, rtol=0, atol=1e-5)
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', torch.jit.TracerWarning)
                traced = torch.jit.trace(fused, torch.randn_like(x))
            torch.testing.assert_close(
                traced(x), expected, rtol=0, atol=1e-5)
    graph = str(traced.inlined_graph)
    # primary, group sum, cheap, 3 DFC convs for all splits; no split
    assert graph.count('aten::_convolution') == 6
    assert graph.count('aten::cat') == 1
    assert 'aten::split' not in graph


def test_merged_ghost_split_conv_declines_other_dscs():
    one = fuse_for_inference(nn.Sequential(random_eval_enhanced_dsc(
        groups=1)))
    assert type(one[0]) is DynamicSplitConv  # nothing to merge
    dite = fuse_for_inference(nn.Sequential(
        DynamicSplitConv(16, num_groups=2, num_kernels=1).eval()))
    assert type(dite[0]) is DynamicSplitConv  # plain ConvBN splits
    with pytest.raises(ValueError, match='G > 1 equal splits'):
        MergedGhostSplitConv(dite[0])
    with pytest.raises(TypeError, match='DynamicSplitConv'):
        MergedGhostSplitConv(nn.Conv2d(4, 4, 1))


@pytest.fixture(params=[2, 4])
def exported_dsc(request, tmp_path):
    """The fused Enhanced-ConvBN DSC exported to ONNX, an input, the
    eval-mode output."""
    pytest.importorskip('onnx')
    model, fused = fused_dsc(request.param, seed=1)
    x = torch.randn(1, 16, 16, 12)
    with torch.no_grad():
        expected = model(x).numpy()
    path = str(tmp_path / 'dsc.onnx')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(fused, (x, ), path, dynamo=False,
                          input_names=['input'], opset_version=17)
    return path, {'input': x.numpy()}, expected


def test_merged_ghost_split_conv_onnx_graph_and_runtime_parity(exported_dsc):
    import onnx
    ort = pytest.importorskip('onnxruntime')
    path, feeds, expected = exported_dsc
    nodes = onnx.load(path).graph.node
    ops = [n.op_type for n in nodes]
    conv_outputs = {n.output[0] for n in nodes if n.op_type == 'Conv'}
    map_concats = [
        n for n in nodes
        if n.op_type == 'Concat' and set(n.input) <= conv_outputs
    ]
    # one concatenation of maps (primary, cheap); the other Concat nodes
    # build the Resize's output size
    assert ops.count('Conv') == 6 and len(map_concats) == 1
    assert ops.count('Transpose') == 1  # the gate's channel shuffle
    assert 'Split' not in ops
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    np.testing.assert_allclose(
        session.run(None, feeds)[0], expected, rtol=0, atol=1e-5)


def test_merged_ghost_split_conv_openvino_parity(exported_dsc):
    assert_openvino_matches(exported_dsc)
