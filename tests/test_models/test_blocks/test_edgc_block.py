import pytest
import torch

from elhrnet_mm.models.blocks import DGCBlock, EDGCBlock, EnhancedConvBN


def test_default_enhances_the_two_depthwise_convbn():
    m = EDGCBlock(32)
    enhanced = {
        f'{b}.{n}'
        for b in ('branch1', 'branch2')
        for n, layer in getattr(m, b).named_children()
        if isinstance(layer, EnhancedConvBN)
    }
    assert enhanced == {'branch1.dw', 'branch2.dw'}
    assert isinstance(m, DGCBlock)


def test_shape_and_extra_params_are_the_ghost_modules():
    m, plain = EDGCBlock(32), DGCBlock(32)
    assert m(torch.randn(2, 32, 16, 12)).shape == (2, 32, 8, 6)
    extra = sum(p.numel() for p in m.parameters()) - sum(
        p.numel() for p in plain.parameters())
    swapped = sum(
        sum(p.numel() for p in getattr(m, b).dw.parameters()) -
        sum(p.numel() for p in getattr(plain, b).dw.parameters())
        for b in ('branch1', 'branch2'))
    assert extra == swapped


def test_needs_a_position():
    with pytest.raises(ValueError, match='conv_bn_cfgs'):
        EDGCBlock(32, conv_bn_cfgs={})


def test_positions_by_config():
    m = EDGCBlock(32, conv_bn_cfgs={'branch2.reduce': dict(
        type='EnhancedConvBN', dw_size=5)})
    assert isinstance(m.branch2.reduce, EnhancedConvBN)
    assert not isinstance(m.branch1.dw, EnhancedConvBN)
