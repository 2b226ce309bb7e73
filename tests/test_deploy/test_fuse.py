"""fuse_for_inference computes the eval-mode network's function."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from elhrnet_mm.analysis.hrnet_reference import HRNET_W32_CONFIG
from elhrnet_mm.deploy import build_inference_model, fuse_for_inference
from elhrnet_mm.deploy.fuse import replace_upsampling, switch_to_deploy
from elhrnet_mm.deploy.nearest_upsample import NearestUpsample
from elhrnet_mm.models.utils.bn_folding import fold_affine
from elhrnet_mm.utils.mmpose_models import mmpose_config_path
from elhrnet_mm.zoo import shipped_configs

LITEHRNET_18_CONFIG = ('body_2d_keypoint/topdown_heatmap/coco/'
                       'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')
#: (H, W) of the test input: the smallest 4:3 size every model accepts
#: (Dite/EDite with four branches need multiples of 32).
INPUT_HW = (128, 96)


def randomize_batch_norms(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics and affine parameters (running mean ~
    N(0, 0.1), var in [0.75, 1.25], gamma in [0.4, 0.8], beta ~ N(0, 0.1)):
    every fold is exercised while the activations stay O(1) through the
    deepest networks, so 1e-5 is a float-rounding bound."""
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            c = module.num_features
            module.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            module.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            if module.affine:
                module.weight.data.copy_(
                    torch.rand(c, generator=gen) * 0.4 + 0.4)
                module.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


def batch_norms(model: nn.Module) -> int:
    return sum(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in model.modules())


def deploy_state(model: nn.Module) -> list:
    """Buffers of our modules that are None: state a later deploy step
    would fill and a training forward would branch on (there must be
    none; deploy forms are replacement modules)."""
    return [
        f'{name}.{buffer}' for name, module in model.named_modules()
        if type(module).__module__.startswith('elhrnet_mm.')
        for buffer, value in module._buffers.items() if value is None
    ]


def assert_fused_equals_eval(config: str) -> None:
    torch.manual_seed(0)
    model = build_inference_model(Config.fromfile(config), fuse=False)
    assert deploy_state(model) == []
    randomize_batch_norms(model)
    model.eval()
    x = torch.randn(2, 3, *INPUT_HW)
    fused = fuse_for_inference(copy.deepcopy(model))
    with torch.no_grad():
        expected = model(x)
        actual = fused(x)
    assert not fused.training
    assert batch_norms(model) > 0
    assert batch_norms(fused) == 0, 'a BN was left unfolded'
    peak = expected.abs().max().item()
    assert peak > 1e-2  # the comparison is not vacuous
    # 1e-5 absolute on heatmaps of unit scale; float rounding grows with
    # the activations, which reach ~70 in the untrained L-HRNet (no
    # attention to damp its residual sums), so the bound scales with the peak
    torch.testing.assert_close(
        actual, expected, rtol=0, atol=1e-5 * max(1.0, peak))


def network_key(path: str) -> str:
    """What the fused network depends on: backbone, neck and head, but not
    the number of keypoints (the head's last conv) or the codec."""
    model = Config.fromfile(path).model.to_dict()
    head = {
        k: v
        for k, v in model['head'].items()
        if k not in ('out_channels', 'decoder')
    }
    return repr((model['backbone'], model.get('neck'), head))


def distinct_networks(paths):
    """One config per distinct network (configs that differ only in data,
    input size, keypoints or schedule), with an id naming every config it
    stands for."""
    groups = {}  # network key -> config paths
    for path in paths:
        groups.setdefault(network_key(path), []).append(path)
    return [
        pytest.param(
            same[0],
            id='+'.join(osp.splitext(osp.basename(p))[0] for p in same))
        for same in groups.values()
    ]


CONFIGS = distinct_networks(shipped_configs()) + [
    pytest.param(mmpose_config_path(HRNET_W32_CONFIG), id='mmpose-hrnet-w32'),
    pytest.param(
        mmpose_config_path(LITEHRNET_18_CONFIG), id='mmpose-litehrnet-18'),
]


@pytest.mark.parametrize('config', CONFIGS)
def test_fused_equals_eval_model(config):
    assert_fused_equals_eval(config)


# 5-D kernel banks inside; the phase-wise LPB deploy form
@pytest.mark.parametrize('family', ['dite_hrnet', 'mobileposenet'])
def test_channels_last_gives_same_output(family):
    config = shipped_configs(family)[0]
    model = build_inference_model(Config.fromfile(config), fuse=False)
    x = torch.randn(1, 3, *INPUT_HW)
    fused = fuse_for_inference(copy.deepcopy(model), channels_last=True)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), rtol=0, atol=1e-5)
    with pytest.raises(TypeError, match='channels_last'):
        fuse_for_inference(model, channels_last='yes')


class _Plus(nn.Module):
    """A deploy form wrapping the module it replaces."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x) + 1


class _Switching(nn.Module):
    """Replaced by ``_Plus(self)``; its ``sub`` by an ``nn.Identity``."""

    def __init__(self, sub=None):
        super().__init__()
        self.sub = sub
        self.switched = 0

    def switch_to_deploy(self):
        self.switched += 1
        return _Plus(self)

    def forward(self, x):
        return x if self.sub is None else self.sub(x)


class _ToIdentity(nn.Module):

    def switch_to_deploy(self):
        return nn.Identity()


def test_switch_to_deploy_puts_replacements_in_the_parents_slots():
    shared = _Switching(sub=_ToIdentity())
    model = nn.Sequential(shared, nn.Sequential(shared), _Switching())
    switched = switch_to_deploy(model)
    assert switched is model
    assert type(model[0]) is _Plus and model[1][0] is model[0]
    assert shared.switched == 1  # one module in two slots: switched once
    assert model[0].inner is shared  # a form keeps the module it wraps
    assert type(shared.sub) is nn.Identity  # ... whose children are visited
    assert type(model[2]) is _Plus and model[2].inner.switched == 1
    # the root itself can be replaced: use the returned module
    root = _Switching()
    assert type(switch_to_deploy(root)) is _Plus


def test_switch_to_deploy_must_return_a_module_or_none():

    class Bad(nn.Module):

        def switch_to_deploy(self):
            return True

    with pytest.raises(TypeError, match='Bad.switch_to_deploy must return'):
        switch_to_deploy(nn.Sequential(Bad()))


def test_bn_is_not_folded_across_other_layers():
    """mmcv's fuse_conv_bn pairs a BN with the last conv *registered*
    before it; here the conv does not feed the BN."""

    class MaskThenNorm(nn.Module):

        def __init__(self):
            super().__init__()
            self.mask = nn.Conv2d(4, 1, 1)
            self.gate = nn.Sigmoid()
            self.norm = nn.BatchNorm2d(4)

        def forward(self, x):
            return self.norm(x * self.gate(self.mask(x)))

    model = MaskThenNorm()
    randomize_batch_norms(model)
    model.eval()
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        expected = model(x)
        fused = fuse_for_inference(copy.deepcopy(model))
        torch.testing.assert_close(fused(x), expected)
    assert batch_norms(fused) == 1


@pytest.mark.parametrize('groups', [1, 3])
def test_fold_affine_into_transposed_conv(groups):
    deconv = nn.ConvTranspose2d(6, 9, 4, stride=2, padding=1, groups=groups)
    x = torch.randn(2, 6, 5, 4)
    scale, shift = torch.rand(9) + 0.5, torch.randn(9)
    with torch.no_grad():
        expected = deconv(x) * scale.view(1, -1, 1, 1) + shift.view(
            1, -1, 1, 1)
        assert fold_affine(deconv, scale, shift) is deconv
        torch.testing.assert_close(deconv(x), expected)


def test_nearest_upsample_equals_nn_upsample():
    x = torch.randn(1, 3, 4, 5)
    torch.testing.assert_close(
        NearestUpsample(4)(x),
        nn.Upsample(scale_factor=4, mode='nearest')(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match='scale_factor'):
        NearestUpsample(1.5)


def test_upsample_layers_are_replaced_exactly():
    model = nn.Sequential(
        nn.Upsample(scale_factor=4, mode='nearest'),
        nn.Upsample(scale_factor=2.0, mode='bilinear'))
    x = torch.randn(1, 3, 5, 7)
    with torch.no_grad():
        expected = model(x)
        assert replace_upsampling(model) == 1
        assert isinstance(model[0], NearestUpsample)
        assert isinstance(model[1], nn.Upsample)
        torch.testing.assert_close(model(x), expected, rtol=0, atol=0)
