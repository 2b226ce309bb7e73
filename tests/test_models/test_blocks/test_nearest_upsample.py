import pytest
import torch
import torch.nn.functional as F

from elhrnet_mm.models.blocks.nearest_upsample import (NearestUpsample,
                                                       nearest_upsample)


@pytest.mark.parametrize('in_size,out_size', [((4, 3), (8, 6)),
                                              ((2, 3), (16, 24)),
                                              ((4, 3), (8, 3)),
                                              ((4, 3), (4, 3)),
                                              ((3, 3), (7, 5))])
def test_equals_interpolate_bit_for_bit(in_size, out_size):
    x = torch.randn(2, 5, *in_size)
    torch.testing.assert_close(
        nearest_upsample(x, out_size),
        F.interpolate(x, size=out_size, mode='nearest'), rtol=0, atol=0)


def test_module_equals_nn_upsample():
    x = torch.randn(1, 3, 4, 5)
    torch.testing.assert_close(
        NearestUpsample(4)(x),
        torch.nn.Upsample(scale_factor=4, mode='nearest')(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match='scale_factor'):
        NearestUpsample(1.5)
