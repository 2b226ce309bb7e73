"""BN-folding primitives of elhrnet_mm.models.utils.bn_folding."""
import pytest
import torch
import torch.nn as nn

from elhrnet_mm.models.utils.bn_folding import (ChannelAffine, bn_scale_shift,
                                                can_fold_affine, fold_affine,
                                                fold_bn_into)


def _eval_bn(c: int) -> nn.BatchNorm2d:
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(c)
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 1.5)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.normal_()
    return bn.eval()


def test_bn_is_its_scale_and_shift():
    bn = _eval_bn(5)
    x = torch.randn(2, 5, 3, 4)
    scale, shift = bn_scale_shift(bn)
    assert scale.shape == shift.shape == (5, )
    with torch.no_grad():
        torch.testing.assert_close(
            bn(x), x * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1))


def test_fold_bn_into_a_conv_returns_the_conv_itself():
    conv, bn = nn.Conv2d(3, 5, 3, bias=False), _eval_bn(5)
    x = torch.randn(2, 3, 6, 5)
    with torch.no_grad():
        expected = bn(conv(x))
        assert fold_bn_into(conv, bn) is conv
        torch.testing.assert_close(conv(x), expected)


def test_nothing_is_folded_into_what_cannot_take_it():
    conv = nn.Conv2d(3, 5, 1)
    assert fold_bn_into(conv, _eval_bn(5).train()) is None  # training BN
    assert fold_bn_into(nn.ReLU(), _eval_bn(5)) is None
    assert not can_fold_affine(None)
    with pytest.raises(TypeError, match='cannot fold'):
        fold_affine(nn.ReLU(), torch.ones(5), torch.zeros(5))


def test_own_fold_affine_must_return_the_folded_module():

    class Forgetful(nn.Module):

        def fold_affine(self, scale, shift):
            return None

    assert can_fold_affine(Forgetful())
    with pytest.raises(TypeError, match='Forgetful.fold_affine must return'):
        fold_affine(Forgetful(), torch.ones(2), torch.zeros(2))


def test_channel_affine_starts_as_identity_and_composes():
    affine = ChannelAffine(3, torch.empty(0))
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(affine(x), x, rtol=0, atol=0)
    affine.compose(torch.tensor([1., 2., 3.]), torch.tensor([0., 1., 2.]))
    affine.compose(torch.full((3, ), 2.), torch.ones(3))
    expected = 2 * (x * torch.tensor([1., 2., 3.]).view(1, -1, 1, 1) +
                    torch.tensor([0., 1., 2.]).view(1, -1, 1, 1)) + 1
    torch.testing.assert_close(affine(x), expected)
