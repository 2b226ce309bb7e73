"""ONNX export of the inference network (elhrnet_mm.deploy.onnx_export).

One model of each backbone family (and RTMPose, whose head has two SimCC
outputs) is exported with a dynamic batch at a small input and run by ONNX
Runtime and by OpenVINO (an IR converted from the same file) at two batch
sizes; the outputs must match PyTorch within the verification tolerance,
and must depend on the input (BN-calibrated weights), so that the
comparison can fail. The slow test exports every other shipped network.
"""
import copy
import functools
import os
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from elhrnet_mm.deploy.fixed_size_pooling import (
    ExportCBAMCrossResolutionWeighting, ExportCrossResolutionWeighting,
    fixed_size_avg_pool, replace_adaptive_pooling)
from elhrnet_mm.deploy.inference_model import build_deploy_model
from elhrnet_mm.deploy.kernel_bank_conv import (KernelBankConv,
                                                replace_kernel_aggregation)
from elhrnet_mm.deploy.onnx_export import (SIMCC_OUTPUT_NAMES,
                                           MissingDeployExtraError,
                                           UnsupportedModelError,
                                           check_opset, create_session,
                                           export_onnx, import_deploy_package,
                                           max_abs_difference, run_session,
                                           verify_tolerance)
from elhrnet_mm.deploy.openvino_runtime import (compile_model,
                                                export_openvino, run_request)
from elhrnet_mm.deploy.sample_inputs import verification_inputs
from elhrnet_mm.models.backbones.mixins import MultiResolutionInputMixin
from elhrnet_mm.models.blocks import CBAMCrossResolutionWeighting
from elhrnet_mm.models.blocks.dynamic_kernel_conv import (DynamicKernelConv,
                                                          KernelAggregation)
from elhrnet_mm.zoo import configs_root, shipped_configs

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')
pytest.importorskip('openvino')

ROOT = configs_root()
#: One config per backbone family; the small EL-HRNet stands for the family.
FAMILIES = {
    'el_hrnet': 'quickstart/td-hm_el-hrnet-w32-small_1xb32-8e_synthcoco-'
    '128x96.py',
    'cbam_litehrnet': 'cbam_litehrnet/td-hm_cbam-litehrnet-18_8xb64-210e_'
    'coco-256x192.py',
    'dite_hrnet': 'dite_hrnet/td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py',
    'edite_hrnet': 'edite_hrnet/td-hm_edite-hrnet-s_1xb32-270e_coco-'
    '256x192.py',
    'mobileposenet': 'mobileposenet/td-hm_mobileposenet_1xb32-210e_coco-'
    '256x192.py',
}
#: Lite-HRNet-style families: one module per stage keeps the fast tests
#: fast (every block type still occurs).
ONE_MODULE_PER_STAGE = {
    'model.backbone.extra.stages_spec.num_modules': (1, 1, 1)
}
SHRINK = {f: ONE_MODULE_PER_STAGE for f in ('cbam_litehrnet', 'dite_hrnet',
                                            'edite_hrnet')}
SMALL_HW = (64, 64)


def _export_and_compare(config, tmp_path, input_hw, batch, dynamic_batch,
                        options=None):
    """Export, then compare ONNX Runtime and OpenVINO (an IR converted from
    the same file) with PyTorch at the export batch (and the next one with a
    dynamic batch)."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options or {})
    torch.manual_seed(0)
    model = build_deploy_model(cfg, input_hw)
    path = str(tmp_path / 'model.onnx')
    export_onnx(model, path, (batch, 3, *input_hw),
                dynamic_batch=dynamic_batch)
    session = create_session(path)
    runtimes = [functools.partial(run_session, session)]
    xml, _ = export_openvino(path, str(tmp_path / 'model.xml'))
    runtimes.append(functools.partial(
        run_request, compile_model(xml).create_infer_request()))
    batches = (batch, batch + 1) if dynamic_batch else (batch, )
    for n in batches:
        inputs = verification_inputs(cfg, n, *input_hw)
        for run in runtimes:
            for name, (diff, scale) in max_abs_difference(
                    model, run, inputs).items():
                assert diff < verify_tolerance(scale), (config, n, name,
                                                        diff, run)
    return model, session, path


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_dynamic_batch_export_matches_pytorch(family, tmp_path):
    config = f'{ROOT}/{FAMILIES[family]}'
    model, _, path = _export_and_compare(
        config, tmp_path, SMALL_HW, batch=2, dynamic_batch=True,
        options=SHRINK.get(family))
    graph = onnx.load(path).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    # no control flow or runtime checks in the graph
    assert not {n.op_type for n in graph.node} & {'If', 'Loop', 'Assert'}
    # the check can fail: the heatmaps depend on the input
    x = verification_inputs(Config.fromfile(config), 2, *SMALL_HW)['random']
    with torch.inference_mode():
        heatmaps = model(x)
    assert (heatmaps[0] - heatmaps[1]).abs().max() > 10 * verify_tolerance(
        heatmaps.abs().max().item())


def test_fixed_batch_export(tmp_path):
    config = f'{ROOT}/{FAMILIES["dite_hrnet"]}'
    _, session, _ = _export_and_compare(
        config, tmp_path, SMALL_HW, batch=1, dynamic_batch=False,
        options=SHRINK['dite_hrnet'])
    assert session.get_inputs()[0].shape == [1, 3, *SMALL_HW]


def _random_aggregation(groups, bias, stride):
    torch.manual_seed(0)
    module = KernelAggregation(
        8, 16, 3, 4, stride=stride, padding=1, groups=groups, bias=bias)
    if bias:
        torch.nn.init.normal_(module.bias)
    module = module.fold_affine(torch.rand(16) + 0.5, torch.randn(16))  # BN
    return module


@pytest.mark.parametrize('groups,bias,stride', [(1, False, 1), (8, True, 2),
                                                (2, True, 1)])
def test_kernel_bank_conv_equals_kernel_aggregation(groups, bias, stride):
    module = _random_aggregation(groups, bias, stride)
    x, attention = torch.randn(3, 8, 11, 9), torch.rand(3, 4)
    expected = module(x, attention)
    got = KernelBankConv(module)(x, attention)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-5)
    # one sample's output does not depend on the others in the batch
    alone = KernelBankConv(module)(x[1:2], attention[1:2])
    assert torch.allclose(alone, expected[1:2], atol=1e-5, rtol=1e-5)


def test_replace_kernel_aggregation_keeps_dynamic_kernel_conv():
    torch.manual_seed(0)
    conv = DynamicKernelConv(8, 8, 3, groups=8, num_kernels=4).eval()
    x = torch.randn(2, 8, 10, 10)
    expected = conv(x)
    assert replace_kernel_aggregation(conv) == 1
    assert isinstance(conv.aggregation, KernelBankConv)
    assert torch.allclose(conv(x), expected, atol=1e-5, rtol=1e-5)


def test_missing_extra_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(MissingDeployExtraError, match=r'elhrnet_mm\[deploy\]'):
        import_deploy_package('onnxruntime')
    with pytest.raises(MissingDeployExtraError, match='onnxruntime'):
        create_session('unused.onnx')


def test_bad_opset_and_shape(tmp_path):
    with pytest.raises(ValueError, match='allowed: 11 to 20'):
        check_opset(9)
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        export_onnx(torch.nn.Identity(), str(tmp_path / 'x.onnx'), (3, 8, 8))


def _network_key(config):
    cfg = Config.fromfile(config)
    return repr(cfg.model.backbone), repr(cfg.model.get('neck'))


@functools.lru_cache(maxsize=1)
def _config_per_network():
    """One shipped config per backbone + neck, leaving out the networks the
    fast tests above export whole (MobilePoseNet, the quick-start EL-HRNet).
    Configs that differ only in the head's keypoint count or in the input
    size export the same operators."""
    covered = {
        _network_key(f'{ROOT}/{FAMILIES[f]}')
        for f in FAMILIES if f not in SHRINK
    }
    chosen = {}
    for config in shipped_configs():
        chosen.setdefault(_network_key(config), config)
    return sorted(c for k, c in chosen.items() if k not in covered)


def _one_module_per_stage(config):
    """Options that keep one module per stage (HRNet- or Lite-HRNet-style
    ``extra``): every block type and width stays, the repeats go. A
    backbone without stages (MobilePoseNet's encoder) exports whole."""
    extra = Config.fromfile(config).model.backbone.get('extra', {})
    if 'stages_spec' in extra:
        return ONE_MODULE_PER_STAGE
    return {
        f'model.backbone.extra.{stage}.num_modules': 1
        for stage in ('stage2', 'stage3', 'stage4') if stage in extra
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    'config', _config_per_network(), ids=lambda c: c.split('/')[-1][6:-3])
def test_every_shipped_network_exports(config, tmp_path):
    """Each network with one module per stage, at the small input: the
    exported operators depend on neither the repeats nor the input size."""
    _export_and_compare(
        config, tmp_path, SMALL_HW, batch=1, dynamic_batch=True,
        options=_one_module_per_stage(config))


class _Doubling(torch.nn.Module):

    def forward(self, x):
        return x * 2


class _SizeChecked(MultiResolutionInputMixin, _Doubling):
    size_divisor = 32


def test_input_size_check_is_not_exported(tmp_path):
    """Our backbones' size check raises in eval but is skipped while the
    exporter traces, so the graph holds nothing of it."""
    model = _SizeChecked()
    with pytest.raises(ValueError, match='multiples of 32'):
        model(torch.zeros(1, 3, 40, 40))
    path = str(tmp_path / 'checked.onnx')
    export_onnx(model, path, (1, 3, 40, 40))
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ops == ['Constant', 'Mul']  # x * 2, nothing else


RTMPOSE_T = ('mmpose::body_2d_keypoint/rtmpose/coco/'
             'rtmpose-t_8xb256-420e_aic-coco-256x192.py')
#: RTMPose's head at a 64x64 input (its sizes are written into the config)
RTMPOSE_AT_64 = {'model.head.input_size': (64, 64),
                 'model.head.in_featuremap_size': (2, 2)}


def test_rtmpose_simcc_outputs_exported_and_verified(tmp_path):
    """RTMPose's head gives two SimCC vectors: both are graph outputs
    (dynamic batch) and both are verified."""
    from elhrnet_mm.deploy.config_source import resolve_config_path
    model, session, path = _export_and_compare(
        resolve_config_path(RTMPOSE_T), tmp_path, SMALL_HW, batch=1,
        dynamic_batch=True, options=RTMPOSE_AT_64)
    graph = onnx.load(path).graph
    assert tuple(o.name for o in graph.output) == SIMCC_OUTPUT_NAMES
    x = torch.randn(2, 3, *SMALL_HW)
    simcc_x, simcc_y = run_session(session, x.numpy())
    assert simcc_x.shape == (2, 17, 64 * 2)  # W x split ratio 2.0
    assert simcc_y.shape == (2, 17, 64 * 2)
    with torch.inference_mode():
        expected_x, _ = model(x)
    # the comparison can fail: the outputs depend on the input
    assert (expected_x[0] - expected_x[1]).abs().max() > 10 * \
        verify_tolerance(expected_x.abs().max().item())


class _WithHead(torch.nn.Module):

    def __init__(self, head):
        super().__init__()
        self.head = head

    def forward(self, x):
        return self.head(x)


def test_unsupported_head_is_named(tmp_path):
    path = tmp_path / 'x.onnx'
    with pytest.raises(UnsupportedModelError,
                       match='cannot export head type Identity.*HeatmapHead'):
        export_onnx(_WithHead(torch.nn.Identity()), str(path), (1, 3, 8, 8))
    assert not path.exists()


class _Untraceable(torch.nn.Module):

    def forward(self, x):
        if torch.jit.is_tracing():  # stands for any op the tracer refuses
            raise RuntimeError('not traceable')
        return x


def test_failing_module_is_named_and_no_file_is_left(tmp_path):
    model = torch.nn.Sequential(torch.nn.ReLU(), _Untraceable())
    (tmp_path / 'old.onnx').write_bytes(b'previous export')
    with pytest.raises(UnsupportedModelError,
                       match=r'module type _Untraceable \(1\).*not traceable'):
        export_onnx(model, str(tmp_path / 'old.onnx'), (1, 3, 8, 8))
    # the previous file is untouched and no temporary file is left
    assert os.listdir(tmp_path) == ['old.onnx']
    assert (tmp_path / 'old.onnx').read_bytes() == b'previous export'


def test_fixed_size_avg_pool_equals_adaptive_pooling():
    x = torch.randn(2, 5, 12, 18)
    for size in ((3, 6), (6, 6), (4, 9), 1, (12, 18)):
        assert torch.allclose(fixed_size_avg_pool(x, size),
                              F.adaptive_avg_pool2d(x, size), atol=1e-6)
    # a size that does not divide is left to adaptive pooling
    assert torch.equal(fixed_size_avg_pool(x, (5, 7)),
                       F.adaptive_avg_pool2d(x, (5, 7)))


def test_mmpose_cross_resolution_weighting_export_form():
    from mmpose.models.backbones.litehrnet import CrossResolutionWeighting
    torch.manual_seed(0)
    holder = torch.nn.ModuleList([CrossResolutionWeighting([8, 16, 32],
                                                           ratio=4)]).eval()
    x = [torch.randn(2, 8, 16, 12), torch.randn(2, 16, 8, 6),
         torch.randn(2, 32, 4, 3)]
    expected = holder[0](x)
    assert replace_adaptive_pooling(holder) == 1
    assert type(holder[0]) is ExportCrossResolutionWeighting
    for got, want in zip(holder[0](x), expected):
        assert torch.allclose(got, want, atol=1e-6)


class _TwoBranchWeighting(torch.nn.Module):
    """A cross-resolution weighting of each kind over two branches."""

    def __init__(self):
        super().__init__()
        from mmpose.models.backbones.litehrnet import \
            CrossResolutionWeighting
        self.lite = CrossResolutionWeighting([3, 3], ratio=2)
        self.cbam = CBAMCrossResolutionWeighting([3, 3], ratio=2,
                                                 cbam_reduction_ratio=1)

    def forward(self, x):
        x = self.lite([x, F.avg_pool2d(x, 2)])
        return self.cbam(x)[1]


def test_adaptive_pooling_swapped_on_the_exported_copy_only(tmp_path):
    """The exporter swaps the cross-resolution weightings of its own copy
    (a dynamic batch needs it); the caller's model and torch's functions
    stay as they were."""
    torch.manual_seed(0)
    model = _TwoBranchWeighting().eval()
    types = [type(m) for m in model.modules()]
    pooling = F.adaptive_avg_pool2d
    swapped = copy.deepcopy(model)
    assert replace_adaptive_pooling(swapped) == 2
    assert type(swapped.lite) is ExportCrossResolutionWeighting
    assert type(swapped.cbam) is ExportCBAMCrossResolutionWeighting
    path = str(tmp_path / 'm.onnx')
    export_onnx(model, path, (2, 3, 16, 12), dynamic_batch=True)
    assert [type(m) for m in model.modules()] == types
    assert F.adaptive_avg_pool2d is pooling
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert 'AveragePool' in ops
    session = create_session(path)
    x = torch.randn(3, 3, 16, 12)
    for got in max_abs_difference(model, functools.partial(
            run_session, session), dict(x=x)).values():
        assert got[0] < verify_tolerance(got[1])
