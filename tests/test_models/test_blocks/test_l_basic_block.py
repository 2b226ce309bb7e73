import pytest
import torch
import torch.nn as nn

from elhrnet_mm.models.blocks import CBAM, LABasicBlock, LBasicBlock


def n_params(m, kind=nn.Conv2d):
    return sum(
        p.numel() for mod in m.modules() if isinstance(mod, kind)
        for p in mod.parameters(recurse=False))


@pytest.mark.parametrize('c', [32, 64, 128, 256])
def test_l_block_conv_params_are_c2_plus_9c(c):
    block = LBasicBlock(c, c)
    assert n_params(block) == c * c + 9 * c  # Sec. 2.2.2
    assert n_params(block, nn.BatchNorm2d) == 4 * c


@pytest.mark.parametrize('c', [32, 256])
def test_la_block_adds_exactly_one_cbam(c):
    la, l_ = LABasicBlock(c, c), LBasicBlock(c, c)
    extra = sum(p.numel() for p in la.parameters()) - sum(
        p.numel() for p in l_.parameters())
    assert extra == sum(p.numel() for p in CBAM(c).parameters())
    assert extra == 2 * c * c // 16 + c // 16 + c + 100


def test_equations_8_to_10():
    torch.manual_seed(0)
    block = LABasicBlock(32, 32).eval()
    x = torch.randn(2, 32, 8, 6)
    y1 = block.nconv2_norm(
        block.nconv2(torch.relu(block.nconv1_norm(block.nconv1(x)))))
    expected = torch.relu(block.cbam(y1) + x)
    torch.testing.assert_close(block(x), expected)


def test_zero_last_norm_gives_identity():
    block = LBasicBlock(16, 16).eval()
    nn.init.zeros_(block.nconv2_norm.weight)
    nn.init.zeros_(block.nconv2_norm.bias)
    x = torch.randn(1, 16, 4, 4)
    torch.testing.assert_close(block(x), torch.relu(x))


def test_downsample_and_shapes():
    down = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32))
    block = LABasicBlock(16, 32, downsample=down)
    assert block(torch.randn(2, 16, 8, 8)).shape == (2, 32, 8, 8)


def test_with_cp_matches():
    torch.manual_seed(0)
    a = LABasicBlock(16, 16)
    b = LABasicBlock(16, 16, with_cp=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    ya, yb = a(x), b(x)
    torch.testing.assert_close(ya, yb)
    ga, = torch.autograd.grad(ya.sum(), x)
    gb, = torch.autograd.grad(yb.sum(), x)
    torch.testing.assert_close(ga, gb)


def test_cfgs_are_threaded_through():
    block = LABasicBlock(
        32,
        32,
        norm_cfg=dict(type='BN', momentum=0.01),
        act_cfg=dict(type='ReLU6'),
        groups=4,
        reduction_ratio=8)
    assert block.nconv1_norm.momentum == 0.01
    assert isinstance(block.act, nn.ReLU6)
    assert block.nconv1.groups == 4
    assert block.cbam.spatial_conv.norm.momentum == 0.01
    assert isinstance(block.cbam.channel_mlp[0].activate, nn.ReLU6)
    gn = LBasicBlock(32, 32, norm_cfg=dict(type='GN', num_groups=4))
    assert isinstance(gn.nconv2_norm, nn.GroupNorm)
    assert block.cbam.channel_mlp[0].conv.out_channels == 4


def test_bad_arguments():
    with pytest.raises(ValueError, match='stride must be 1'):
        LBasicBlock(16, 16, stride=2)
    with pytest.raises(ValueError, match='downsample'):
        LBasicBlock(16, 32)


@pytest.mark.parametrize('attention', [False, True])
def test_deploy_is_exact(assert_deploy_exact, attention):
    block = (LABasicBlock if attention else LBasicBlock)(16, 16)
    fused = assert_deploy_exact(block, torch.randn(2, 16, 8, 6))
    assert isinstance(fused.nconv1_norm, torch.nn.Identity)
