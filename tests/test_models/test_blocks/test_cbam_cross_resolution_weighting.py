import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpose.models.backbones.litehrnet import CrossResolutionWeighting

from elhrnet_mm.models.blocks import CBAM, CBAMCrossResolutionWeighting
from elhrnet_mm.models.blocks.cbam import BranchCBAMs, StackedCBAM
from elhrnet_mm.models.blocks.cbam_cross_resolution_weighting import \
    CBAM_POSITIONS

CHANNELS = [20, 40, 80]
BN = dict(type='BN')


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def cbam_params(c, r):
    """CBAM's count with the hidden width clamped to at least 1."""
    h = max(c // r, 1)
    return 2 * c * h + h + c + 2 * 7 * 7 + 2


def inputs(n=2, h=16, w=12):
    return [
        torch.randn(n, c, h // 2**b, w // 2**b)
        for b, c in enumerate(CHANNELS)
    ]


def randomise(module):
    torch.manual_seed(0)
    for p in module.parameters():
        nn.init.normal_(p, std=0.5)
    return module.eval()


def pair(position):
    """Ours and MMPose's unit with the shared 1x1 layers' weights equal."""
    ours = randomise(
        CBAMCrossResolutionWeighting(
            CHANNELS, ratio=8, cbam_position=position, norm_cfg=BN))
    theirs = CrossResolutionWeighting(CHANNELS, ratio=8, norm_cfg=BN).eval()
    missing, unexpected = theirs.load_state_dict(
        ours.state_dict(), strict=False)
    assert missing == [] and all('.cbams.' in f'.{k}' for k in unexpected)
    return ours, theirs


def conv1_input(module, x):
    seen = {}
    handle = module.conv1.register_forward_pre_hook(
        lambda m, args: seen.setdefault('x', args[0]))
    out = module(x)
    handle.remove()
    return seen['x'], out


def assert_weights_multiply(module, fc_in, x, out):
    """``out_b == x_b * upsampled(conv2(conv1(fc_in)))_b`` for every b."""
    weights = torch.split(module.conv2(module.conv1(fc_in)), CHANNELS, dim=1)
    for o, s, a in zip(out, x, weights):
        torch.testing.assert_close(o, s * F.interpolate(a, size=s.shape[-2:]))


def pool(x):
    return [F.adaptive_avg_pool2d(s, x[-1].shape[-2:])
            for s in x[:-1]] + [x[-1]]


@pytest.mark.parametrize('position', ['pooled', 'full', 'main'])
def test_shapes_and_names(position):
    ours, theirs = pair(position)
    out = ours(inputs())
    assert [o.shape for o in out] == [s.shape for s in inputs()]
    # MMPose's parameter names are kept; the CBAMs are extra
    assert set(theirs.state_dict()) < set(ours.state_dict())


class _IdentityCBAMs(nn.ModuleList):
    """Identity per branch (``'full'``, ``'main'``) and on the pooled
    concatenation (``'pooled'``), as :class:`BranchCBAMs`."""

    def forward(self, x):
        return x


@pytest.mark.parametrize('position', ['pooled', 'full', 'main'])
def test_identity_cbams_give_mmpose_unit(position):
    ours, theirs = pair(position)
    ours.cbams = _IdentityCBAMs(nn.Identity() for _ in CHANNELS)
    x = inputs()
    with torch.no_grad():
        for a, b in zip(ours(x), theirs(x)):
            torch.testing.assert_close(a, b)


def test_pooled_cbams_see_pooled_features_and_weight_raw_ones():
    ours, theirs = pair('pooled')
    x = inputs()
    with torch.no_grad():
        fc_in, out = conv1_input(ours, x)
        refined = [cbam(s) for s, cbam in zip(pool(x), ours.cbams)]
        torch.testing.assert_close(fc_in, torch.cat(refined, 1))
        assert_weights_multiply(ours, fc_in, x, out)


def test_full_cbams_see_full_resolution_features_and_weight_raw_ones():
    ours, _ = pair('full')
    x = inputs()
    with torch.no_grad():
        fc_in, out = conv1_input(ours, x)
        refined = [cbam(s) for s, cbam in zip(x, ours.cbams)]
        torch.testing.assert_close(fc_in, torch.cat(pool(refined), 1))
        assert_weights_multiply(ours, fc_in, x, out)


def test_main_cbams_refine_the_features_the_unit_weights():
    ours, theirs = pair('main')
    x = inputs()
    with torch.no_grad():
        refined = [cbam(s) for s, cbam in zip(x, ours.cbams)]
        for a, b in zip(ours(x), theirs(refined)):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize('r', [4, 16, 32])
def test_param_count(r):
    ours = CBAMCrossResolutionWeighting(
        CHANNELS, ratio=8, cbam_reduction_ratio=r, norm_cfg=BN)
    theirs = CrossResolutionWeighting(CHANNELS, ratio=8, norm_cfg=BN)
    assert n_params(ours) - n_params(theirs) == sum(
        cbam_params(c, r) for c in CHANNELS)


def test_clamped_hidden_width_and_cbam_config():
    ours = CBAMCrossResolutionWeighting(
        CHANNELS,
        cbam_reduction_ratio=32,
        cbam_spatial_kernel_size=3,
        norm_cfg=BN)
    hidden = [cbam.channel_mlp[0].conv.out_channels for cbam in ours.cbams]
    assert hidden == [1, 1, 80 // 32]
    assert all(isinstance(c, CBAM) for c in ours.cbams)
    assert ours.cbams[0].spatial_conv.conv.kernel_size == (3, 3)
    assert type(ours.cbams[0].spatial_conv.norm).__name__ == 'BatchNorm2d'


@pytest.mark.parametrize('kwargs, match', [
    (dict(cbam_position='after'),
     r"cbam_position = 'after' is unknown; allowed: pooled, full, main"),
    (dict(cbam_reduction_ratio=0), 'cbam_reduction_ratio must be a positive'),
    (dict(cbam_reduction_ratio=2.0), 'cbam_reduction_ratio must be a posit'),
    (dict(cbam_reduction_ratio=32, cbam_clamp_hidden=False),
     r'channels\[0\] = 20 is smaller than cbam_reduction_ratio \(32\).*'
     r'allowed: cbam_reduction_ratio <= 20, or cbam_clamp_hidden=True'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CBAMCrossResolutionWeighting(CHANNELS, **kwargs)


@pytest.mark.parametrize('position', CBAM_POSITIONS)
def test_deploy_is_exact(assert_deploy_exact, position):
    crw = CBAMCrossResolutionWeighting([8, 16, 32],
                                       ratio=4,
                                       cbam_position=position,
                                       cbam_reduction_ratio=4,
                                       norm_cfg=dict(type='BN'))
    x = [torch.randn(2, 8, 16, 12), torch.randn(2, 16, 8, 6),
         torch.randn(2, 32, 4, 3)]
    assert type(crw.cbams) is BranchCBAMs
    fused = assert_deploy_exact(crw, x)
    # 'pooled': StackedCBAM, wrapped by the graph-runtime rewrite
    # ConvGateStackedCBAM (tests/test_deploy/test_rewrites_cbam.py)
    cbams = fused.cbams.stacked if position == 'pooled' else fused.cbams
    assert type(cbams) is (StackedCBAM
                           if position == 'pooled' else BranchCBAMs)
    assert dict(crw.named_buffers(recurse=False)) == {}


def test_branch_cbams_refine_each_channel_group_as_stacked_cbam_does():
    """BranchCBAMs (training) and the StackedCBAM that replaces it
    (deploy) map the concatenation the same way."""
    torch.manual_seed(0)
    cbams = BranchCBAMs(
        [CBAM(8, 4, norm_cfg=None),
         CBAM(16, 4, norm_cfg=None)]).eval()
    x = torch.randn(2, 24, 5, 3)
    with torch.no_grad():
        expected = torch.cat([cbams[0](x[:, :8]), cbams[1](x[:, 8:])], 1)
        torch.testing.assert_close(cbams(x), expected, rtol=0, atol=0)
        stacked = StackedCBAM(cbams)
        torch.testing.assert_close(stacked(x), expected, rtol=0, atol=1e-6)
    assert [c.channels for c in cbams] == [8, 16] == stacked.channels


def test_stacked_cbam_spatial_logits_are_each_branch_cbams():
    """StackedCBAM.spatial_logits (N, B, H, W): map b is CBAM b's spatial
    gate (before its sigmoid) of branch b's channels."""
    torch.manual_seed(1)
    cbams = BranchCBAMs(
        [CBAM(8, 4, norm_cfg=None),
         CBAM(16, 4, norm_cfg=None)]).eval()
    stacked = StackedCBAM(cbams)
    y = torch.randn(2, 24, 7, 5)
    with torch.no_grad():
        logits = stacked.spatial_logits(y)
        assert logits.shape == (2, 2, 7, 5)
        for b, part in enumerate((y[:, :8], y[:, 8:])):
            torch.testing.assert_close(
                torch.sigmoid(logits[:, b:b + 1]),
                cbams[b].spatial_attention(part), rtol=0, atol=1e-6)
