import math

import pytest
import torch
import torch.nn.functional as F

from elhrnet_mm.models.blocks import EnhancedConvBN, GhostModuleV2
from elhrnet_mm.models.blocks.folded_ghost_module_v2 import \
    FoldedGhostModuleV2


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('cin,cout', [(16, 16), (16, 24), (8, 15)])
def test_param_count_of_ghostnetv2_attn_module(cin, cout):
    # primary 1x1 + BN, cheap DW 3x3 + BN, DFC: 1x1 + BN, (1,5) DW + BN,
    # (5,1) DW + BN
    m = GhostModuleV2(cin, cout)
    init = math.ceil(cout / 2)
    expected = (cin * init + 2 * init) + (9 * init + 2 * init) + (
        cin * cout + 2 * cout) + 2 * (5 * cout + 2 * cout)
    assert n_params(m) == expected
    assert m(torch.randn(2, cin, 8, 6)).shape == (2, cout, 8, 6)


def test_output_is_ghost_features_gated_by_dfc_attention():
    torch.manual_seed(0)
    m = GhostModuleV2(8, 12, kernel_size=3, stride=2).eval()
    x = torch.randn(2, 8, 12, 10)
    intrinsic = m.primary(x)
    ghost = torch.cat([intrinsic, m.cheap(intrinsic)], 1)[:, :12]
    gate = torch.sigmoid(m.dfc(F.avg_pool2d(x, 2, 2)))
    assert ghost.shape == (2, 12, 6, 5) and gate.shape == (2, 12, 3, 3)
    expected = ghost * F.interpolate(gate, size=(6, 5), mode='nearest')
    torch.testing.assert_close(m(x), expected)
    # the horizontal and vertical FCs
    assert m.dfc[1].conv.kernel_size == (1, 5)
    assert m.dfc[2].conv.kernel_size == (5, 1)
    assert m.dfc[1].conv.groups == m.dfc[2].conv.groups == 12


def test_original_mode_and_linear_module():
    m = GhostModuleV2(8, 8, attention=False, act_cfg=None)
    assert m.dfc is None
    x = torch.randn(2, 8, 5, 5)
    assert m(x).min() < 0


def test_groups_and_dynamic_primary():
    m = GhostModuleV2(16, 16, 3, primary_groups=8, dfc_groups=16,
                      num_kernels=4)
    assert m.primary[0].aggregation.groups == 8
    assert m.dfc[0].conv.groups == 16
    assert m(torch.randn(2, 16, 8, 8)).shape == (2, 16, 8, 8)


@pytest.mark.parametrize('kwargs,msg', [
    (dict(ratio=1), 'ratio'),
    (dict(primary_groups=3), 'primary_groups'),
    (dict(dfc_groups=5), 'dfc_groups'),
])
def test_bad_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        GhostModuleV2(16, 16, **kwargs)


@pytest.mark.parametrize('attention', [True, False])
def test_fold_affine_is_exact(attention):
    ghost = GhostModuleV2(8, 12, attention=attention).eval()
    x = torch.randn(2, 8, 7, 6)  # odd height: the gate's fallback upsampling
    scale, shift = torch.rand(12) + 0.5, torch.randn(12)
    with torch.no_grad():
        expected = ghost(x) * scale.view(1, -1, 1, 1) + shift.view(
            1, -1, 1, 1)
        folded = ghost.fold_affine(scale, shift)
        torch.testing.assert_close(folded(x), expected)
        # a second map composes: (2 y + 1) after the first
        twice = folded.fold_affine(torch.full((12, ), 2.), torch.ones(12))
        assert twice is folded
        torch.testing.assert_close(folded(x), 2 * expected + 1)
    assert type(folded) is FoldedGhostModuleV2 and folded.ghost is ghost


def test_training_module_has_no_deploy_state():
    """One forward path: the folded map lives in the replacement module,
    not in buffers the training forward would branch on."""
    ghost = GhostModuleV2(8, 12)
    assert dict(ghost.named_buffers(recurse=False)) == {}
    assert all(v is not None for _, v in ghost.named_buffers())
    folded = ghost.fold_affine(torch.ones(12), torch.zeros(12))
    assert folded.out_affine.scale.shape == (1, 12, 1, 1)


def test_enhanced_conv_bn_deploy_swaps_in_the_folded_module(
        assert_deploy_exact):
    fused = assert_deploy_exact(
        EnhancedConvBN(8, 8, 3, groups=8), torch.randn(2, 8, 8, 6))
    assert isinstance(fused[0], FoldedGhostModuleV2)


def test_enhanced_conv_bn_deploy_is_exact(assert_deploy_exact):
    assert_deploy_exact(
        EnhancedConvBN(8, 8, 3, groups=8, act_cfg=dict(type='ReLU')),
        torch.randn(2, 8, 8, 6))
