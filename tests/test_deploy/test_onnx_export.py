"""ONNX export of the inference network (elhrnet_mm.deploy.onnx_export).

One model of each backbone family is exported with a dynamic batch at a
small input and run by ONNX Runtime at two batch sizes; the heatmaps must
match PyTorch within the verification tolerance, and must depend on the
input (BN-calibrated weights), so that the comparison can fail. The slow
test exports every shipped config at its real input.
"""
import functools
import sys

import pytest
import torch
from mmengine.config import Config

from elhrnet_mm.deploy.inference_model import build_deploy_model
from elhrnet_mm.deploy.kernel_bank_conv import (KernelBankConv,
                                                replace_kernel_aggregation)
from elhrnet_mm.deploy.onnx_export import (MissingDeployExtraError,
                                           check_opset, create_session,
                                           export_onnx, import_deploy_package,
                                           max_abs_difference,
                                           verify_tolerance)
from elhrnet_mm.deploy.sample_inputs import verification_inputs
from elhrnet_mm.models.backbones.mixins import MultiResolutionInputMixin
from elhrnet_mm.models.blocks.dynamic_kernel_conv import (DynamicKernelConv,
                                                          KernelAggregation)
from elhrnet_mm.zoo import configs_root, shipped_configs

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

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
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options or {})
    torch.manual_seed(0)
    model = build_deploy_model(cfg, input_hw)
    path = str(tmp_path / 'model.onnx')
    export_onnx(model, path, (batch, 3, *input_hw),
                dynamic_batch=dynamic_batch)
    session = create_session(path)
    batches = (batch, batch + 1) if dynamic_batch else (batch, )
    for n in batches:
        inputs = verification_inputs(cfg, n, *input_hw)
        for name, (diff, scale) in max_abs_difference(
                model, session, inputs).items():
            assert diff < verify_tolerance(scale), (config, n, name, diff)
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
    module.fold_affine(torch.rand(16) + 0.5, torch.randn(16))  # a BN
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
    ``extra``): every block type and width stays, the repeats go."""
    extra = Config.fromfile(config).model.backbone.extra
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
