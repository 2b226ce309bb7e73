import pytest
import torch

from elhrnet_mm.models.blocks import LightweightUpsampleBlock
from elhrnet_mm.models.blocks.phase_wise_lightweight_upsample import \
    PhaseWiseLightweightUpsample
from elhrnet_mm.models.blocks.subpixel_depthwise_deconv import (
    SubpixelDepthwiseDeconv, interleave_phases)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('position', ['expanded', 'output'])
@pytest.mark.parametrize('k', [2, 3, 4])
def test_param_count_matches_formula(position, k):
    cin, cmid, cout, r = 24, 96, 32, 4
    block = LightweightUpsampleBlock(cin, cout, cmid, kernel_size=k,
                                     se_position=position, se_ratio=r)
    # Sec. 3.1: C_in*C_mid + k^2*C_mid + C_mid*C_out, plus 3 BNs and the SE
    convs = cin * cmid + k * k * cmid + cmid * cout
    bns = 2 * (cmid + cmid + cout)
    c = cmid if position == 'expanded' else cout
    se = c * (c // r) + c // r + (c // r) * c + c
    assert n_params(block) == convs + bns + se


@pytest.mark.parametrize('k', [2, 3, 4])
def test_output_is_twice_the_size(k):
    block = LightweightUpsampleBlock(16, 8, 32, kernel_size=k, se_ratio=4)
    assert block(torch.rand(2, 16, 5, 7)).shape == (2, 8, 10, 14)
    assert block.upsample.conv.groups == 32  # depthwise


@pytest.mark.parametrize('position', ['expanded', 'output'])
def test_fusion_is_multiply_and_add(position):
    torch.manual_seed(0)
    block = LightweightUpsampleBlock(8, 16, 32, se_position=position).eval()
    x = torch.rand(1, 8, 4, 4)
    feats = block.upsample(block.expand(x))
    if position == 'expanded':
        expected = block.project(block.se(feats) + feats)
    else:
        feats = block.project(feats)
        expected = block.se(feats) + feats
    torch.testing.assert_close(block(x), expected)
    block.fusion = 'mul'
    assert not torch.allclose(block(x), expected)


@pytest.mark.parametrize('kwargs,match', [
    (dict(kernel_size=5), 'kernel_size must be one of'),
    (dict(fusion='add'), 'fusion must be one of'),
    (dict(se_position='input'), 'se_position must be one of'),
    (dict(se_ratio=64), 'se_ratio must be an int in 1..32'),
    (dict(mid_channels=0), 'mid_channels must be a positive int'),
])
def test_bad_arguments(kwargs, match):
    args = dict(in_channels=8, out_channels=16, mid_channels=32)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        LightweightUpsampleBlock(**args)


@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('fusion', ['mul_add', 'mul'])
@pytest.mark.parametrize('position', ['expanded', 'output'])
@pytest.mark.parametrize('k', [2, 3, 4])
def test_deploy_is_exact(assert_deploy_exact, k, position, fusion,
                         channels_last):
    block = LightweightUpsampleBlock(
        8, 12, 24, kernel_size=k, se_position=position, fusion=fusion)
    x = torch.randn(2, 8, 6, 5)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    fused = assert_deploy_exact(block, x)
    assert type(fused) is PhaseWiseLightweightUpsample
    assert isinstance(fused.block.upsample.conv, SubpixelDepthwiseDeconv)


def test_switch_to_deploy_swaps_in_the_phase_wise_form():
    """One forward path: the training block's forward never looks at its
    conv's type; the deploy form is another module that wraps it."""
    block = LightweightUpsampleBlock(8, 12, 24).eval()
    assert dict(block.named_buffers(recurse=False)) == {}
    x = torch.randn(2, 8, 6, 5)
    with torch.no_grad():
        expected = block(x)
        deployed = block.switch_to_deploy()
        assert type(deployed) is PhaseWiseLightweightUpsample
        assert deployed.block is block
        torch.testing.assert_close(deployed(x), expected, rtol=0, atol=1e-5)
    assert block.switch_to_deploy() is None  # already switched
    with pytest.raises(ValueError, match='SubpixelDepthwiseDeconv'):
        PhaseWiseLightweightUpsample(LightweightUpsampleBlock(8, 12, 24))


def test_deploy_form_projects_the_quarter_size_phases():
    """In the deploy form the 1x1 projection (and everything after the
    upsampling) sees the four (H, W) phases, not the (2H, 2W) map; only its
    C_out-channel output is interleaved."""
    block = LightweightUpsampleBlock(8, 12, 24).eval()
    deployed = block.switch_to_deploy()
    shapes = []
    block.project.register_forward_hook(
        lambda module, args, out: shapes.append(tuple(args[0].shape)))
    with torch.no_grad():
        out = deployed(torch.randn(2, 8, 6, 5))
    assert shapes == [(2, 24, 6, 5)] * 4
    assert out.shape == (2, 12, 12, 10)


@pytest.mark.parametrize('fusion', ['mul_add', 'mul'])
def test_attention_of_phases_is_attention_of_the_map(fusion):
    block = LightweightUpsampleBlock(8, 12, 24, fusion=fusion).eval()
    deployed = block.switch_to_deploy()
    phases = [torch.rand(2, 24, 3, 4) for _ in range(4)]
    whole = interleave_phases(phases)
    with torch.no_grad():
        expected = block.attend(whole)
        actual = interleave_phases(deployed.attend(phases))
    torch.testing.assert_close(actual, expected)
    assert not torch.equal(expected, whole)  # the gate is not 1
