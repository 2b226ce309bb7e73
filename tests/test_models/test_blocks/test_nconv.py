import pytest
import torch

from elhrnet_mm.models.blocks import NConv3x3
from elhrnet_mm.models.blocks.folded_nconv import FoldedNConv3x3


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('c', [32, 64, 128, 256])
def test_default_is_depthwise_with_papers_count(c):
    # Sec. 2.2.2: C^2/2 (1x1) + 9C/2 (3x3 GConv) per NConv3x3
    m = NConv3x3(c, c)
    assert m.groups == c // 2
    assert n_params(m) == c * c // 2 + 9 * c // 2


@pytest.mark.parametrize('cin,cout,groups', [(64, 32, 1), (32, 64, 4),
                                             (48, 48, 3)])
def test_param_count_general(cin, cout, groups):
    m = NConv3x3(cin, cout, groups=groups)
    half = cout // 2
    assert n_params(m) == cin * half + 9 * half * half // groups


def test_shape_and_concat_order():
    torch.manual_seed(0)
    m = NConv3x3(16, 32).eval()
    x = torch.randn(2, 16, 10, 6)
    y = m(x)
    assert y.shape == (2, 32, 10, 6)
    p = m.primary(x)
    torch.testing.assert_close(y[:, :16], p)
    torch.testing.assert_close(y[:, 16:], m.grouped(p))


def test_inner_norm_act():
    m = NConv3x3(16, 16, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'))
    assert m.primary.with_norm and m.primary.with_activation
    assert m.primary.conv.bias is None
    plain = NConv3x3(16, 16)
    assert not plain.primary.with_norm and not plain.primary.with_activation


@pytest.mark.parametrize('kwargs,msg', [
    (dict(in_channels=16, out_channels=15), 'even'),
    (dict(in_channels=16, out_channels=16, groups=3), r'groups=3.*divisor'),
    (dict(in_channels=16, out_channels=16, groups=0), 'groups'),
])
def test_bad_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        NConv3x3(**kwargs)


def test_fold_affine_is_exact():
    nconv = NConv3x3(6, 8).eval()
    x = torch.randn(2, 6, 5, 4)
    scale, shift = torch.rand(8) + 0.5, torch.randn(8)
    with torch.no_grad():
        expected = nconv(x) * scale.view(1, -1, 1, 1) + shift.view(
            1, -1, 1, 1)
        folded = nconv.fold_affine(scale, shift)
        torch.testing.assert_close(folded(x), expected)
        # a second map composes: (2 y + 1) after the first
        assert folded.fold_affine(torch.full((8, ), 2.), torch.ones(8)) \
            is folded
        torch.testing.assert_close(folded(x), 2 * expected + 1)
    assert type(folded) is FoldedNConv3x3 and folded.nconv is nconv


def test_training_module_has_no_deploy_state():
    nconv = NConv3x3(6, 8)
    assert dict(nconv.named_buffers()) == {}
    folded = nconv.fold_affine(torch.ones(8), torch.zeros(8))
    assert folded.primary_affine.scale.shape == (1, 4, 1, 1)
