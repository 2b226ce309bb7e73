"""The deploy form of grouped convs with one output per group."""
import pytest
import torch
import torch.nn as nn

from elhrnet_mm.deploy.grouped_conv_as_depthwise import GroupedConvAsDepthwise


@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('stride,padding,dilation', [(1, 1, 1), (2, 2, 2)])
def test_equals_the_grouped_conv(bias, stride, padding, dilation):
    torch.manual_seed(0)
    conv = nn.Conv2d(12, 6, 3, stride=stride, padding=padding,
                     dilation=dilation, groups=6, bias=bias)
    x = torch.randn(2, 12, 9, 7)
    with torch.no_grad():
        expected = conv(x)
        actual = GroupedConvAsDepthwise(conv)(x)
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize('conv,applies', [
    (nn.Conv2d(12, 6, 3, groups=6), True),
    (nn.Conv2d(12, 12, 3, groups=6), False),  # two outputs per group
    (nn.Conv2d(12, 12, 3, groups=12), False),  # depthwise already
    (nn.Conv2d(12, 1, 3), False),  # dense
    (nn.Conv2d(12, 6, 3, groups=6, padding='same'), False),
    (nn.Conv2d(12, 6, 3, groups=6, padding_mode='reflect'), False),
])
def test_applies_only_to_one_output_per_group(conv, applies):
    assert GroupedConvAsDepthwise.applies_to(conv) is applies
    if not applies:
        with pytest.raises(ValueError, match='one output per group'):
            GroupedConvAsDepthwise(conv)
