import pytest
import torch
import torch.nn as nn

from elhrnet_mm.models.backbones.mixins import (ChainableTrainMixin,
                                                MultiResolutionInputMixin)


class _ReturnsNone(nn.Module):
    """Like MMPose's HRNet/LiteHRNet: ``train`` returns None."""

    def train(self, mode=True):
        super().train(mode)

    def forward(self, x):
        return x * 2


class _Chainable(ChainableTrainMixin, _ReturnsNone):
    pass


class _Checked(MultiResolutionInputMixin, _ReturnsNone):
    size_divisor = 32


def test_train_and_eval_return_the_module():
    m = _Chainable()
    assert _ReturnsNone().eval() is None
    assert m.eval() is m and not m.training
    assert m.train() is m and m.training


def test_size_check_passes_good_sizes_through():
    x = torch.ones(1, 3, 64, 96)
    torch.testing.assert_close(_Checked()(x), x * 2)


@pytest.mark.parametrize('hw', [(250, 192), (256, 200)])
def test_size_check_names_size_and_allowed_values(hw):
    with pytest.raises(ValueError,
                       match=rf'_Checked input size {hw[0]}x{hw[1]} .*'
                       'multiples of 32'):
        _Checked()(torch.ones(1, 3, *hw))


def test_size_check_is_skipped_while_tracing():
    traced = torch.jit.trace(_Checked(), torch.ones(1, 3, 64, 64))
    torch.testing.assert_close(traced(torch.ones(1, 3, 64, 64)),
                               torch.full((1, 3, 64, 64), 2.0))
