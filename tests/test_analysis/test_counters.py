"""Counters of ``elhrnet_mm.analysis.counters`` against reference numbers.

The Lite-HRNet torchstat totals are the official repositories' published
figures, rebuilt exactly by the analytic reference counter; the mmengine
figure is what MMPose's own tool gives.
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from elhrnet_mm.analysis.counters import (conv_macs, count_flops,
                                          count_params, mmengine_flops,
                                          register_conv_like, torchstat_flops)
from elhrnet_mm.utils.mmpose_models import build_estimator, mmpose_config_path

COCO = 'body_2d_keypoint/topdown_heatmap/coco/'
LITE18 = COCO + 'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'
LITE30 = COCO + 'td-hm_litehrnet-30_8xb64-210e_coco-256x192.py'


def _build(relative_path: str) -> nn.Module:
    return build_estimator(Config.fromfile(mmpose_config_path(relative_path)))


@pytest.fixture(scope='module')
def lite18() -> nn.Module:
    return _build(LITE18)


# ------------------------------------------------ reference networks ----
def test_torchstat_lite18_256x192(lite18):
    count = torchstat_flops(lite18, (1, 3, 256, 192))
    assert count.flops == 215_202_112
    assert f'{count.flops_binary_m:.1f}' == '205.2'
    assert count.params == 1_130_769
    assert count.unknown_modules == ()


def test_torchstat_lite18_384x288(lite18):
    count = torchstat_flops(lite18, (1, 3, 384, 288))
    assert count.flops == 483_984_112
    assert f'{count.flops_binary_m:.1f}' == '461.6'


def test_torchstat_lite30_256x192():
    count = torchstat_flops(_build(LITE30), (1, 3, 256, 192))
    assert count.flops == 334_703_864
    assert f'{count.flops_binary_m:.1f}' == '319.2'
    assert count.params == 1_763_717


def test_params_lite18(lite18):
    assert count_params(lite18) == 1_130_769


def test_mmengine_lite18(lite18):
    # MMPose's get_flops.py prints 0.266G; measured 266,314,752 (0.2663 G).
    assert mmengine_flops(lite18, (1, 3, 256, 192)) == pytest.approx(
        0.266e9, rel=2e-3)


# ---------------------------------------------------------- the rules ----
class _Toy(nn.Module):
    """One module per torchstat rule, with hand-computed counts."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)  # bias
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.ReLU6()
        self.pool = nn.MaxPool2d(2)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.up = nn.Upsample(scale_factor=2)
        self.deconv = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 5)
        self.gate = nn.Sigmoid()
        self.unused = nn.Conv2d(5, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn(self.conv(x)))  # 8 x 8 x 8
        x = self.up(self.dw(self.pool(x)))  # 8 x 8 x 8
        x = self.gap(self.deconv(x))  # 4 x 16 x 16 -> 4 x 1 x 1
        return self.gate(self.fc(x.flatten(1)))


def test_torchstat_rules():
    count = torchstat_flops(_Toy(), (1, 3, 8, 8))
    expected = (
        9 * 3 * 8 * 64 + 8 * 64  # conv + bias
        + 2 * 8 * 64  # bn
        + 8 * 64  # relu6
        + 8 * 16 * 4  # maxpool: N*C*H_out*W_out*k*k
        + 9 * 8 * 1 * 16  # depthwise conv on 4 x 4
        + 8 * 8  # upsample: H_out*W_out only
        + 16 * 8 * 4 * 64 + 4 * 256  # deconv on 8 x 8 input + bias
        + 4 * 17 * 17  # adaptive pool: C*(H+1)*(W+1)
        + 4 * 5  # linear, no bias term
    )
    assert count.flops == expected
    assert count.params == count_params(_Toy()) - (5 * 5 + 5)  # unused
    assert count.unknown_modules == ()


def test_conv_macs_rules():
    expected = (9 * 3 * 8 * 64 + 9 * 8 * 16 + 16 * 8 * 4 * 64 + 4 * 5)
    assert conv_macs(_Toy(), (1, 3, 8, 8)) == expected


def test_torchstat_counts_last_call_only():
    relu = nn.ReLU()
    model = nn.Sequential(relu, nn.MaxPool2d(2), relu)
    assert torchstat_flops(model, (1, 2, 4, 4)).flops == (
        2 * 4 * 4  # maxpool
        + 2 * 2 * 2)  # last call of the shared ReLU
    conv = nn.Conv2d(2, 2, 1, bias=False)
    twice = nn.Sequential(conv, conv)
    assert conv_macs(twice, (1, 2, 4, 4)) == 2 * (4 * 16)


class _OwnWeight(nn.Module):
    """A non-leaf module with its own parameter, used functionally."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x * self.scale)


def test_unknown_modules_are_reported():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), _OwnWeight(), nn.LayerNorm(4))
    count = torchstat_flops(model, (1, 3, 2, 4))
    assert count.unknown_modules == ('1 (_OwnWeight, own parameters)',
                                     '1.act (GELU)', '2 (LayerNorm)')
    assert count.flops == 3 * 4 * 8 + 4 * 8  # the conv only
    assert count.params == (3 * 4 + 4) + (4 + 4)  # conv + layer norm


class _Aggregated(nn.Module):
    """Convolves with its own weight through ``F.conv2d``."""

    def __init__(self) -> None:
        super().__init__()
        self.kernel_size, self.groups, self.bias = 3, 1, None
        self.weight = nn.Parameter(torch.zeros(6, 4, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, padding=1)


def test_register_conv_like():
    model = nn.Sequential(_Aggregated())
    assert torchstat_flops(model, (1, 4, 5, 5)).unknown_modules == (
        '0 (_Aggregated)', )
    assert conv_macs(model, (1, 4, 5, 5)) == 0
    register_conv_like(_Aggregated)
    count = torchstat_flops(model, (1, 4, 5, 5))
    assert count.flops == 9 * 4 * 6 * 25 == conv_macs(model, (1, 4, 5, 5))
    assert count.unknown_modules == ()


# ---------------------------------------------------------- behaviour ----
def test_training_flag_restored():
    model = _Toy().train()
    torchstat_flops(model, (1, 3, 8, 8))
    conv_macs(model, (1, 3, 8, 8))
    assert model.training and model.bn.training


def test_bad_arguments():
    with pytest.raises(ValueError, match='N, C, H, W'):
        conv_macs(_Toy(), (3, 8, 8))
    with pytest.raises(ValueError, match='unknown FLOPs convention'):
        count_flops(_Toy(), (1, 3, 8, 8), 'fvcore')
