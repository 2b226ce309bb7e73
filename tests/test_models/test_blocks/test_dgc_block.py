import pytest
import torch

from elhrnet_mm.models.blocks import (DGCBlock, DynamicKernelConv,
                                      EnhancedConvBN, GlobalContextModeling)
from elhrnet_mm.models.blocks.dgc_block import LAYERS


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def dka(cin, cout, k, groups):
    hidden = cin // 4
    return 4 * cout * cin // groups * k * k + cin * hidden + 2 * hidden + \
        hidden * 4 + 4


def gcm(c, r=4):
    h = c // r
    return c + 1 + c * h + 2 * h + h * c + c + 2 * c


def test_param_count_of_the_stem_block():
    # branch1: DW 3x3, GCM, 1x1; branch2: DW 3x3, GCM, 1x1 16->4, 1x1 4->16,
    # DW 3x3; every conv a 4-kernel DKA followed by BN
    c = 16
    expected = (dka(c, c, 3, c) + 2 * c + gcm(c) + dka(c, c, 1, 1) + 2 * c +
                dka(c, c, 3, c) + 2 * c + gcm(c) + dka(c, 4, 1, 1) + 2 * 4 +
                dka(4, c, 1, 1) + 2 * c + dka(c, c, 3, c) + 2 * c)
    assert n_params(DGCBlock(32)) == expected


@pytest.mark.parametrize('stride', [1, 2])
def test_shape(stride):
    m = DGCBlock(32, stride=stride)
    assert m(torch.randn(2, 32, 16, 12)).shape == (2, 32, 16 // stride,
                                                   12 // stride)


def test_structure():
    m = DGCBlock(32)
    assert isinstance(m.branch1.gcm, GlobalContextModeling)
    assert isinstance(m.branch2.gcm, GlobalContextModeling)
    for name in LAYERS:
        branch, layer = name.split('.')
        assert isinstance(
            getattr(getattr(m, branch), layer)[0], DynamicKernelConv)
    assert m.branch1.dw[0].aggregation.stride == (2, 2)
    assert m.branch2.dw[0].aggregation.stride == (1, 1)
    assert m.branch2.down[0].aggregation.stride == (2, 2)
    assert isinstance(m.branch2.down[2], torch.nn.ReLU)
    assert len(m.branch2.expand) == 2  # no activation


def test_enhanced_positions():
    enhanced = dict(type='EnhancedConvBN')
    m = DGCBlock(
        32, conv_bn_cfgs={
            'branch1.dw': enhanced,
            'branch2.reduce': enhanced
        })
    assert isinstance(m.branch1.dw, EnhancedConvBN)
    assert isinstance(m.branch2.reduce, EnhancedConvBN)
    assert not isinstance(m.branch2.dw, EnhancedConvBN)
    assert m(torch.randn(2, 32, 16, 12)).shape == (2, 32, 8, 6)


@pytest.mark.parametrize('kwargs,msg', [
    (dict(channels=31), 'even'),
    (dict(channels=32, stride=3), 'stride'),
    (dict(channels=32, bottleneck_ratio=32), 'bottleneck_ratio'),
    (dict(channels=32, conv_bn_cfgs={'branch3.dw': dict(type='ConvBN')}),
     r"unknown positions \['branch3.dw'\]"),
    (dict(channels=32, conv_bn_cfgs={'branch1.dw': dict(dw_size=5)}),
     "conv_bn_cfgs\\['branch1.dw'\\] = .* must be a dict with a type"),
])
def test_bad_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        DGCBlock(**kwargs)


def test_deploy_is_exact(assert_deploy_exact):
    from elhrnet_mm.models.blocks import EDGCBlock
    assert_deploy_exact(EDGCBlock(32), torch.randn(2, 32, 8, 6))
