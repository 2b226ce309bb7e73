import pytest
import torch

from elhrnet_mm.models.blocks import EnhancedConvBN, GhostModuleV2
from elhrnet_mm.models.blocks.enhanced_conv_bn import build_conv_bn


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


def test_builder():
    assert isinstance(build_conv_bn('EnhancedConvBN', 8, 8, 3, groups=8),
                      EnhancedConvBN)
    with pytest.raises(ValueError, match='layer_type'):
        build_conv_bn('GhostConv', 8, 8, 3)
    with pytest.raises(ValueError, match='enhanced_cfg'):
        build_conv_bn('ConvBN', 8, 8, 3, enhanced_cfg=dict(dw_size=5))
