import pytest
import torch

from elhrnet_mm.models.blocks import (DynamicKernelConv, DynamicSplitConv,
                                      EnhancedConvBN)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def dka_params(c, k, kernels):
    hidden = c // 4
    return kernels * c * k * k + c * hidden + 2 * hidden + hidden * kernels \
        + kernels


# Dite-HRNet's (channels, groups, kernels) per branch (C_b / 2 of 40..320)
@pytest.mark.parametrize('c,groups,kernels', [(20, 1, 4), (40, 1, 4),
                                              (80, 2, 2), (160, 4, 1)])
def test_param_count_and_shape(c, groups, kernels):
    m = DynamicSplitConv(c, groups, kernels)
    cg = c // groups
    expected = 0
    for i in range(groups):
        k = 2 * i + 3
        conv = (dka_params(cg, k, kernels)
                if kernels > 1 else cg * k * k)
        expected += conv + 2 * cg  # + BN
    assert n_params(m) == expected
    assert m(torch.randn(2, c, 8, 6)).shape == (2, c, 8, 6)


def test_kernel_sizes_and_kinds():
    m = DynamicSplitConv(80, 4, 2)
    assert [conv[0].aggregation.kernel_size for conv in m.convs
            ] == [(3, 3), (5, 5), (7, 7), (9, 9)]
    assert all(isinstance(conv[0], DynamicKernelConv) for conv in m.convs)
    static = DynamicSplitConv(40, 2, 1)
    assert all(type(conv[0]) is torch.nn.Conv2d for conv in static.convs)
    enhanced = DynamicSplitConv(
        40, 2, 2, conv_bn_cfg=dict(type='EnhancedConvBN'))
    assert all(isinstance(conv, EnhancedConvBN) for conv in enhanced.convs)


def test_split_convolve_concat_shuffle():
    torch.manual_seed(0)
    m = DynamicSplitConv(8, 2, 1).eval()
    x = torch.randn(1, 8, 5, 5)
    a, b = m.convs[0](x[:, :4]), m.convs[1](x[:, 4:])
    # channel shuffle with 2 groups interleaves the two parts
    expected = torch.stack([a, b], dim=2).flatten(1, 2)
    torch.testing.assert_close(m(x), expected)


@pytest.mark.parametrize('kwargs,msg', [
    (dict(num_groups=3), 'num_groups'),
    (dict(num_kernels=0), 'num_kernels'),
    (dict(num_groups=2, kernel_sizes=(3, 4)), 'kernel_sizes'),
    (dict(conv_bn_cfg=dict(type='ConvBN', kernel_size=5)),
     r"conv_bn_cfg must not set \['kernel_size'\]"),
])
def test_bad_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        DynamicSplitConv(8, **kwargs)


@pytest.mark.parametrize('groups', [2, 4])
def test_concat_shuffle_is_mmpose_channel_shuffle_of_the_concat(groups):
    from mmpose.models.backbones.utils import channel_shuffle

    from elhrnet_mm.models.blocks.dynamic_split_conv import concat_shuffle
    parts = [torch.randn(2, 3, 4, 5) for _ in range(groups)]
    torch.testing.assert_close(
        concat_shuffle(parts), channel_shuffle(torch.cat(parts, 1), groups))
