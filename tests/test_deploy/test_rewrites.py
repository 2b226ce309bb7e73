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
    return randomize_bn(GlobalContextModeling(channels, reduction=4), seed)


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
    # the traced graph pools on the channels-last view of the map, not on
    # its flattened (N, C, HW) view
    assert 'aten::bmm' not in graph and 'aten::permute' in graph
    assert 'aten::matmul' in graph and 'aten::exp' not in graph


def matmul_operands_are_not_raw_maps(model) -> bool:
    """Whether every ``MatMul`` of the ONNX ``model`` takes a constant or
    a ``Transpose``'s output (the channels-last view of a map) as its
    second operand, i.e. none reads a feature map's flat NCHW memory."""
    constants = {init.name for init in model.graph.initializer}
    producers = {out: node for node in model.graph.node
                 for out in node.output}
    for node in model.graph.node:
        if node.op_type != 'MatMul':
            continue
        source = node.input[1]
        while source in producers and producers[source].op_type == 'Reshape':
            source = producers[source].input[0]
        if not (source in constants or
                producers.get(source) is not None
                and producers[source].op_type in ('Transpose', 'Constant')):
            return False
    return True


def openvino_map_reorders(compiled, shape) -> int:
    """How many layout conversions (``Reorder``) of a map of ``shape``
    OpenVINO's compiled runtime graph holds."""
    target = str(list(shape)).replace(' ', '')
    return sum(
        op.get_rt_info()['layerType'].astype(str) == 'Reorder'
        and str(op.get_output_partial_shape(0)).replace(' ', '') == target
        for op in compiled.get_runtime_model().get_ordered_ops())


def test_spatial_softmax_gcm_onnx_runtime_and_openvino_parity(tmp_path):
    onnx = pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    torch.manual_seed(1)
    # 1x1 convs around the GCM, as in a network: OpenVINO keeps the map
    # channels-last between them
    model = nn.Sequential(nn.Conv2d(16, 16, 1), random_eval_gcm(seed=1),
                          nn.Conv2d(16, 16, 1)).eval()
    fused = fuse_for_inference(copy.deepcopy(model))
    assert isinstance(fused[1], SpatialSoftmaxGCM)
    x = torch.randn(1, 16, 16, 12)
    path = str(tmp_path / 'gcm.onnx')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(fused, (x, ), path, dynamo=False,
                          input_names=['input'], opset_version=17)
    exported = onnx.load(path)
    op_types = {n.op_type for n in exported.graph.node}
    assert {'MatMul', 'Softmax', 'Transpose'} <= op_types
    assert 'Exp' not in op_types
    assert matmul_operands_are_not_raw_maps(exported)
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    got = session.run(None, {'input': x.numpy()})[0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    pytest.importorskip('openvino')
    from elhrnet_mm.deploy.openvino_runtime import compile_model
    compiled = compile_model(path)
    np.testing.assert_allclose(
        compiled({'input': x.numpy()})[compiled.output(0)], expected,
        rtol=0, atol=1e-5)
    # the map is converted only from the plain input and to the plain
    # output, never for the pooling
    assert openvino_map_reorders(compiled, x.shape) == 2


def test_apply_graph_rewrites_counts_and_is_idempotent():
    # a 2-to-1 grouped conv with few groups: DepthwiseGroupSumConv
    from elhrnet_mm.deploy.rewrites import DepthwiseGroupSumConv
    model = nn.Sequential(random_eval_gcm(), random_eval_gcm(seed=2),
                          nn.Conv2d(16, 8, 3, padding=1, groups=8))
    model.eval()
    fused = fuse_for_inference(copy.deepcopy(model))  # rewrites applied once
    assert [type(m) for m in fused] == [SpatialSoftmaxGCM] * 2 + [
        DepthwiseGroupSumConv
    ]
    assert apply_graph_rewrites(fused) == 0
    assert [type(m) for m in fused] == [SpatialSoftmaxGCM] * 2 + [
        DepthwiseGroupSumConv
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


def randomize_bn(module: nn.Module, seed: int = 0) -> nn.Module:
    """``module`` in eval mode with non-trivial BN statistics and affine
    maps in every BatchNorm2d."""
    torch.manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c) * 0.1)
            m.running_var.copy_(torch.rand(c) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c) * 0.4 + 0.4)
            m.bias.data.copy_(torch.randn(c) * 0.1)
    return module.eval()


class BranchesAsArgs(nn.Module):
    """``block([x0, x1, ...])`` as a module of tensor inputs and outputs
    (tracing and export take tensors)."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, *x: torch.Tensor):
        return tuple(self.block(list(x)))


# DCM pools every branch to the last one's (4, 3) grid: branch 0 (5
# channels, 16x12) in runs of 16 pixels that cross rows (pieces of 4),
# branch 1 (10 channels, 8x6) in runs of 4 (pieces of 2); C does not divide
# the 12 cells, so runs mix channels
DMC_CHANNELS = (10, 20, 40)


def dmc_inputs(n: int = 2, h: int = 16, w: int = 12):
    return tuple(
        torch.randn(n, c, h // 2**i, w // 2**i)
        for i, c in enumerate(DMC_CHANNELS))


def fused_dmc(seed: int = 0):
    """An eval-mode Dite-HRNet DMC block (official DCM pooling) with random
    BN, in :class:`BranchesAsArgs`, and its fused copy."""
    from elhrnet_mm.models.blocks import DMCBlock
    torch.manual_seed(seed)
    model = randomize_bn(BranchesAsArgs(DMCBlock(DMC_CHANNELS)), seed)
    return model, fuse_for_inference(copy.deepcopy(model))


@pytest.mark.parametrize('c,h,w,grid', [(5, 16, 12, (4, 3)),
                                        (10, 8, 6, (4, 3)),
                                        (20, 8, 6, (2, 3)),
                                        (3, 6, 8, (3, 4)), (4, 4, 4,
                                                            (1, 1))])
@pytest.mark.parametrize('scale', [1.0, 30.0])
def test_expanded_official_pool_equals_official_pool(c, h, w, grid, scale):
    from elhrnet_mm.deploy.rewrites import expanded_official_pool
    from elhrnet_mm.models.blocks.dense_context_modeling import \
        official_context_pool
    torch.manual_seed(0)
    x = torch.randn(2, c, h, w)
    logits = torch.randn(2, 1, h, w) * scale
    expected = official_context_pool(x, logits, grid)
    actual = expanded_official_pool(x, logits, grid)
    assert actual.shape == (2, grid[0] * grid[1], c)  # channels-last
    actual = actual.transpose(1, 2).reshape(2, c, *grid)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)


def test_run_repeat_matrix_repeats_runs_exactly():
    from elhrnet_mm.deploy.rewrites.expanded_context_pool import \
        run_repeat_matrix
    torch.manual_seed(0)
    runs = torch.randn(2, 6, 4).softmax(dim=2) * 1e-3
    repeated = torch.matmul(runs, run_repeat_matrix(4, 5, 2, runs))
    assert repeated.shape == (2, 6, 20)
    torch.testing.assert_close(
        repeated, (runs * 2).repeat(1, 1, 5), rtol=0, atol=0)


@pytest.mark.parametrize('h,w,grid,repeats_by', [(8, 6, (4, 3), 'matmul'),
                                                 (16, 12, (4, 3), 'expand')])
def test_expanded_official_pool_repeats_short_runs_by_a_matmul(
        h, w, grid, repeats_by):
    from elhrnet_mm.deploy.rewrites.expanded_context_pool import (
        MATMUL_MAX_RUN, expanded_official_pool)
    run = h * w // (grid[0] * grid[1])
    assert (run <= MATMUL_MAX_RUN) == (repeats_by == 'matmul')
    x, logits = torch.randn(1, 10, h, w), torch.randn(1, 1, h, w)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        traced = torch.jit.trace(
            lambda x, l: expanded_official_pool(x, l, grid), (x, logits))
    graph = str(traced.inlined_graph)
    assert ('aten::matmul' in graph) == (repeats_by == 'matmul')
    assert ('aten::expand' in graph) == (repeats_by == 'expand')


def test_fused_dmc_block_shuffles_and_pools_in_4d_and_is_exact():
    from elhrnet_mm.deploy.rewrites import (ExpandedPoolDCM,
                                            ReshapeChannelShuffle)
    model, fused = fused_dmc()
    block = fused.block
    assert isinstance(block.dcm, ExpandedPoolDCM)
    shuffles = [m for m in fused.modules()
                if isinstance(m, ReshapeChannelShuffle)]
    assert len(shuffles) == 1 + 3  # the block's, each branch's DSC's
    assert apply_graph_rewrites(fused) == 0
    x = dmc_inputs()
    with torch.no_grad():
        expected = model(*x)
        eager = fused(*x)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            traced = torch.jit.trace(
                fused, tuple(torch.randn_like(s) for s in x))
        traced_out = traced(*x)
    for e, t, y in zip(eager, traced_out, expected):
        torch.testing.assert_close(e, y, rtol=0, atol=1e-5)
        torch.testing.assert_close(t, y, rtol=0, atol=1e-5)
    graph = str(traced.inlined_graph)
    # no 5-D stack for the shuffles, no raw-memory bmm for the poolings:
    # matmuls only for the GCMs (channels-last views) and for DCM's branch
    # 1 (runs of 4: repeated by a 0/1 matrix); branch 0 (runs of 16) expands
    assert 'aten::stack' not in graph and 'aten::bmm' not in graph
    assert graph.count('aten::matmul') == 3 + 1
    assert graph.count('aten::transpose') >= 2  # the shuffles
    # channels-last views: the 3 GCMs' maps, DCM's lowest branch and its
    # concatenated contexts
    assert graph.count('aten::permute') == 3 + 2
    assert 'aten::avg_pool2d' in graph and 'aten::expand' in graph


def export_block(model: nn.Module, inputs, path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(model, inputs, path, dynamo=False,
                          input_names=[f'x{i}' for i in range(len(inputs))],
                          opset_version=17)


def test_fused_dmc_block_onnx_runtime_and_openvino_parity(tmp_path):
    onnx = pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    model, fused = fused_dmc(seed=1)
    x = dmc_inputs(n=1)
    path = str(tmp_path / 'dmc.onnx')
    export_block(fused, x, path)
    exported = onnx.load(path)
    op_types = {n.op_type for n in exported.graph.node}
    assert 'Unsqueeze' not in op_types
    assert matmul_operands_are_not_raw_maps(exported)
    feeds = {f'x{i}': s.numpy() for i, s in enumerate(x)}
    with torch.no_grad():
        expected = [y.numpy() for y in model(*x)]
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    for got, y in zip(session.run(None, feeds), expected):
        np.testing.assert_allclose(got, y, rtol=0, atol=1e-5)
    pytest.importorskip('openvino')
    from elhrnet_mm.deploy.openvino_runtime import compile_model
    compiled = compile_model(path)
    results = compiled(feeds)
    for i, y in enumerate(expected):
        np.testing.assert_allclose(
            results[compiled.output(i)], y, rtol=0, atol=1e-5)
    # the shuffles run as OpenVINO's channels-last ShuffleChannels
    layer_types = {
        op.get_rt_info()['layerType'].astype(str)
        for op in compiled.get_runtime_model().get_ordered_ops()
    }
    assert 'ShuffleChannels' in layer_types


def test_window_pooling_dcm_is_not_rewritten():
    from elhrnet_mm.deploy.rewrites import ExpandedPoolDCM
    from elhrnet_mm.models.blocks import DenseContextModeling
    dcm = DenseContextModeling([4, 8], pooling='window').eval()
    wrapped = nn.Sequential(dcm)
    assert apply_graph_rewrites(wrapped) == 0
    assert wrapped[0] is dcm
    with pytest.raises(ValueError, match="pooling='official'"):
        ExpandedPoolDCM(dcm)
    with pytest.raises(TypeError, match='DenseContextModeling'):
        ExpandedPoolDCM(nn.Identity())


@pytest.mark.parametrize('groups', [2, 4])
def test_reshape_channel_shuffle_traces_to_transpose(groups):
    from elhrnet_mm.deploy.rewrites import ReshapeChannelShuffle
    from elhrnet_mm.models.blocks.dynamic_split_conv import (ConcatShuffle,
                                                             concat_shuffle)
    torch.manual_seed(0)
    parts = tuple(torch.randn(2, 3, 5, 4) for _ in range(groups))
    expected = concat_shuffle(parts)
    shuffle = ReshapeChannelShuffle(ConcatShuffle())
    torch.testing.assert_close(shuffle(*parts), expected, rtol=0, atol=0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        traced = torch.jit.trace(shuffle,
                                 tuple(torch.randn_like(p) for p in parts))
    torch.testing.assert_close(traced(*parts), expected, rtol=0, atol=0)
    graph = str(traced.inlined_graph)
    assert 'aten::stack' not in graph and 'aten::transpose' in graph
    with pytest.raises(TypeError, match='ConcatShuffle'):
        ReshapeChannelShuffle(nn.Identity())
