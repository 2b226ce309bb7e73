import pytest
import torch

from elhrnet_mm.models.blocks import EnhancedConvBN, GhostModuleV2
from elhrnet_mm.models.blocks.build import build_block
from elhrnet_mm.models.blocks.dynamic_kernel_conv import DynamicConvModule


def test_replaces_a_depthwise_conv_keeping_kernel_stride_and_groups():
    m = EnhancedConvBN(20, 20, 5, stride=2, groups=20)
    ghost, norm = m[0], m[1]
    assert isinstance(ghost, GhostModuleV2)
    assert isinstance(norm, torch.nn.BatchNorm2d) and len(m) == 2
    primary = ghost.primary[0]
    assert primary.kernel_size == (5, 5) and primary.stride == (2, 2)
    assert primary.groups == 10  # gcd(20, 10): two inputs per output
    assert ghost.dfc[0].conv.groups == 20  # depthwise DFC conv
    assert ghost.dfc[0].conv.kernel_size == (5, 5)
    assert len(ghost.primary) == 2  # linear: conv + BN, no activation
    assert m(torch.randn(2, 20, 16, 12)).shape == (2, 20, 8, 6)


def test_alternative_readings():
    dense = EnhancedConvBN(20, 20, 5, groups=20, inherit_groups=False,
                           primary_kernel_size=1)
    assert dense[0].primary[0].groups == 1
    assert dense[0].primary[0].kernel_size == (1, 1)
    assert dense[0].dfc[0].conv.groups == 1
    dynamic = EnhancedConvBN(20, 20, 3, groups=20, num_kernels=4,
                             dynamic_primary=True)
    assert dynamic[0].primary[0].aggregation.num_kernels == 4
    relu = EnhancedConvBN(8, 8, 1, act_cfg=dict(type='ReLU'))
    assert relu(torch.randn(2, 8, 4, 4)).min() >= 0


def test_built_by_config_in_place_of_a_convbn():
    # the registry builds either layer from the same arguments
    args = dict(in_channels=8, out_channels=8, kernel_size=3, groups=8)
    layer = build_block(
        dict(type='EnhancedConvBN', dw_size=5), 'conv_bn_cfg', **args)
    assert isinstance(layer, EnhancedConvBN)
    assert layer[0].cheap.conv.kernel_size == (5, 5)
    assert isinstance(
        build_block(dict(type='ConvBN'), 'conv_bn_cfg', **args),
        DynamicConvModule)
    with pytest.raises(KeyError, match='GhostConv'):
        build_block(dict(type='GhostConv'), 'conv_bn_cfg', **args)
    with pytest.raises(ValueError, match=r"conv_bn_cfg must not set "
                       r"\['groups'\]"):
        build_block(dict(type='ConvBN', groups=1), 'conv_bn_cfg', **args)
    with pytest.raises(ValueError, match='must be a dict with a type'):
        build_block('ConvBN', 'conv_bn_cfg', **args)
