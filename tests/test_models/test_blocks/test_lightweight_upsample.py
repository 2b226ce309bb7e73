import pytest
import torch

from elhrnet_mm.deploy.fuse import fold_bn_into
from elhrnet_mm.models.blocks import LightweightUpsampleBlock
from elhrnet_mm.models.blocks.lightweight_upsample import \
    SubpixelDepthwiseDeconv


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


@pytest.mark.parametrize('k', [2, 3, 4])
@pytest.mark.parametrize('bias', [False, True])
def test_subpixel_deconv_equals_transposed_conv(k, bias):
    padding, output_padding = LightweightUpsampleBlock._PADDING[k]
    deconv = torch.nn.ConvTranspose2d(
        6, 6, k, stride=2, padding=padding, output_padding=output_padding,
        groups=6, bias=bias)
    x = torch.randn(2, 6, 5, 7)
    with torch.no_grad():
        expected = deconv(x)
        actual = SubpixelDepthwiseDeconv.from_deconv(deconv)(x)
    assert actual.shape == expected.shape == (2, 6, 10, 14)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)


def test_subpixel_deconv_refuses_other_deconvs():
    with pytest.raises(ValueError, match='depthwise'):
        SubpixelDepthwiseDeconv.from_deconv(
            torch.nn.ConvTranspose2d(6, 6, 4, stride=2, padding=1))


@pytest.mark.parametrize('k', [3, 4])
@pytest.mark.parametrize('position', ['expanded', 'output'])
def test_deploy_is_exact(assert_deploy_exact, k, position):
    block = LightweightUpsampleBlock(
        8, 12, 24, kernel_size=k, se_position=position)
    fused = assert_deploy_exact(block, torch.randn(2, 8, 6, 5))
    assert isinstance(fused.upsample.conv, SubpixelDepthwiseDeconv)


@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('fusion', ['mul_add', 'mul'])
def test_gated_project_equals_project_of_attended(channels_last, fusion):
    block = LightweightUpsampleBlock(8, 12, 24, fusion=fusion).eval()
    torch.nn.init.normal_(block.project.conv.weight)
    x = torch.randn(3, 24, 6, 5)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = block.project(block.attend(x))
        # project_gated needs a bare conv: fold the project's BN
        assert fold_bn_into(block.project.conv, block.project.norm)
        block.project.with_norm = False
        actual = block.project_gated(x, block.gate(x))
    torch.testing.assert_close(actual, expected)
