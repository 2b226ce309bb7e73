import pytest
import torch

from elhrnet_mm.models.blocks import CBAM


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('channels,ratio', [(32, 16), (64, 16), (256, 8)])
def test_param_count_matches_formula(channels, ratio):
    # channel MLP 2*C^2/r + C/r + C (shared), spatial 7x7 conv 2*49 + BN 2
    cbam = CBAM(channels, reduction_ratio=ratio)
    expected = 2 * channels**2 // ratio + channels // ratio + channels + 98 + 2
    assert n_params(cbam) == expected


def test_shape_and_equation_7():
    torch.manual_seed(0)
    cbam = CBAM(32).eval()
    x = torch.randn(2, 32, 16, 12)
    y = cbam(x)
    assert y.shape == x.shape
    # Eq. 5: one MLP on both descriptors
    mlp = cbam.channel_mlp
    f_c = torch.sigmoid(
        mlp(x.mean((2, 3), keepdim=True)) + mlp(x.amax((2, 3), keepdim=True)))
    xc = x * f_c
    # Eq. 6: 7x7 conv over [max; mean] along channels
    f_s = torch.sigmoid(
        cbam.spatial_conv(
            torch.cat([xc.amax(1, keepdim=True),
                       xc.mean(1, keepdim=True)], 1)))
    torch.testing.assert_close(y, xc * f_s)
    assert f_c.shape == (2, 32, 1, 1) and f_s.shape == (2, 1, 16, 12)


def test_gates_are_in_unit_interval_and_scale_down():
    cbam = CBAM(16, reduction_ratio=4).eval()
    x = torch.rand(1, 16, 8, 8) + 0.1
    assert (cbam(x) <= x).all() and (cbam(x) >= 0).all()


def test_norm_and_act_cfg_are_honoured():
    cbam = CBAM(32, norm_cfg=None, act_cfg=dict(type='GELU'))
    assert not cbam.spatial_conv.with_norm
    assert cbam.spatial_conv.conv.bias is not None
    assert type(cbam.channel_mlp[0].activate).__name__ == 'GELU'
    cbam_gn = CBAM(32, norm_cfg=dict(type='GN', num_groups=1))
    assert type(cbam_gn.spatial_conv.norm).__name__ == 'GroupNorm'


@pytest.mark.parametrize('kwargs,field', [
    (dict(channels=8, reduction_ratio=16), 'reduction_ratio'),
    (dict(channels=8, reduction_ratio=0), 'reduction_ratio'),
    (dict(channels=8, reduction_ratio=2, spatial_kernel_size=4),
     'spatial_kernel_size'),
])
def test_bad_arguments(kwargs, field):
    with pytest.raises(ValueError, match=field):
        CBAM(**kwargs)


def test_stacked_channel_mlp_equals_two_calls():
    cbam = CBAM(32, reduction_ratio=4).eval()
    x = torch.randn(3, 32, 6, 5)
    with torch.no_grad():
        avg = cbam.channel_mlp(x.mean(dim=(2, 3), keepdim=True))
        mx = cbam.channel_mlp(x.amax(dim=(2, 3), keepdim=True))
        torch.testing.assert_close(
            cbam.channel_attention(x), torch.sigmoid(avg + mx))


def test_deploy_is_exact(assert_deploy_exact):
    assert_deploy_exact(CBAM(16, reduction_ratio=4), torch.randn(2, 16, 8, 6))
