import copy

import pytest
import torch
import torch.nn as nn
from mmpose.models.backbones import LiteHRNet
from mmpose.models.backbones.litehrnet import CrossResolutionWeighting
from mmpose.registry import MODELS

import elhrnet_mm  # noqa: F401
from elhrnet_mm.models.backbones import CBAMLiteHRNet
from elhrnet_mm.models.blocks import CBAM, CBAMCrossResolutionWeighting

# MMPose's Lite-HRNet-18 / -30 (td-hm_litehrnet-{18,30}_*.py) module counts
DEPTHS = {18: (2, 4, 2), 30: (3, 8, 3)}


@pytest.fixture(autouse=True)
def one_thread():
    """Full-size forwards on a shared 2-core machine: avoid oversubscribing."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def lite_extra(depth=18, width=40):
    return dict(
        stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
        num_stages=3,
        stages_spec=dict(
            num_modules=DEPTHS[depth],
            num_branches=(2, 3, 4),
            num_blocks=(2, 2, 2),
            module_type=('LITE', ) * 3,
            with_fuse=(True, ) * 3,
            reduce_ratios=(8, 8, 8),
            num_channels=tuple(
                tuple(width * 2**b for b in range(n)) for n in (2, 3, 4))),
        with_head=True)


def tiny_extra():
    extra = lite_extra()
    extra['stages_spec'].update(
        num_modules=(1, 1, 1),
        num_blocks=(1, 1, 1),
        num_channels=((8, 16), (8, 16, 32), (8, 16, 32, 64)))
    return extra


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def cbam_params(c, r=16):
    """CBAM (Woo et al.) on c channels: 2C^2/r + C/r + C + 7*7*2 + 2.

    The hidden width C/r is floored (and clamped to >= 1, see
    ``cbam_clamp_hidden``), as in the block.
    """
    h = max(c // r, 1)
    return 2 * c * h + h + c + 98 + 2


def expected_delta(extra, blocks='all', r=16):
    """Sum over all CBAMs, from the stage spec alone.

    Each chosen CCW block holds one CBAM per branch on that branch's
    processed half (C_b / 2 channels).
    """
    spec = extra['stages_spec']
    total = 0
    for i in range(extra['num_stages']):
        modules, n_blocks = spec['num_modules'][i], spec['num_blocks'][i]
        units = {
            'all': modules * n_blocks,
            'first_per_module': modules,
            'first_per_stage': 1
        }[blocks]
        total += units * sum(
            cbam_params(c // 2, r) for c in spec['num_channels'][i])
    return total


@pytest.mark.parametrize('depth, width', [(18, 40), (30, 40), (18, 48)])
def test_param_delta_is_the_cbam_formula(depth, width):
    extra = lite_extra(depth, width)
    ours, base = CBAMLiteHRNet(extra), LiteHRNet(extra)
    assert n_params(ours) - n_params(base) == expected_delta(extra)
    n_units = sum(m * 2 for m in DEPTHS[depth])
    assert sum(isinstance(m, CBAMCrossResolutionWeighting)
               for m in ours.modules()) == n_units
    assert sum(isinstance(m, CBAM) for m in ours.modules()) == \
        sum(m * 2 * nb for m, nb in zip(DEPTHS[depth], (2, 3, 4)))


def test_lite_hrnet_18_param_count():
    # Lite-HRNet-18 backbone: 1,130,769 with the 697-param 40->17 heatmap
    # conv (ARCHITECTURE_NOTES section 0); 48 CBAMs on 20/40/80/160 channels
    base = LiteHRNet(lite_extra())
    assert n_params(base) + 40 * 17 + 17 == 1_130_769
    delta = (4 * (cbam_params(20) + cbam_params(40)) + 8 *
             (cbam_params(20) + cbam_params(40) + cbam_params(80)) + 4 *
             (cbam_params(20) + cbam_params(40) + cbam_params(80) +
              cbam_params(160)))
    assert n_params(CBAMLiteHRNet(lite_extra())) == n_params(base) + delta


@pytest.mark.parametrize('blocks, r', [('first_per_module', 16),
                                       ('first_per_stage', 8),
                                       ('all', 32)])
def test_param_delta_for_other_choices(blocks, r):
    extra = lite_extra()
    ours = CBAMLiteHRNet(
        extra, cbam_blocks=blocks, cbam_reduction_ratio=r)
    assert n_params(ours) - n_params(LiteHRNet(extra)) == expected_delta(
        extra, blocks, r)


@pytest.mark.parametrize('hw', [(256, 192), (384, 288), (256, 256)])
def test_output_shapes(hw):
    model = CBAMLiteHRNet(lite_extra()).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, *hw))
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (1, 40, hw[0] // 4, hw[1] // 4)


@pytest.mark.parametrize('position', ['pooled', 'full', 'main'])
def test_output_shapes_width_48_and_positions(position):
    model = CBAMLiteHRNet(lite_extra(width=48), cbam_position=position)
    out = model.eval()(torch.randn(2, 3, 128, 96))
    assert out[0].shape == (2, 48, 32, 24)


def test_which_blocks_get_cbams():
    per_stage = CBAMLiteHRNet(lite_extra(), cbam_blocks='first_per_stage')
    per_module = CBAMLiteHRNet(lite_extra(), cbam_blocks='first_per_module')
    for i, modules in enumerate(DEPTHS[18]):
        for m in range(modules):
            for b in range(2):
                name = f'stage{i}.{m}.layers.{b}.cross_resolution_weighting'
                first = isinstance(
                    per_module.get_submodule(name),
                    CBAMCrossResolutionWeighting)
                assert first == (b == 0)
                once = isinstance(
                    per_stage.get_submodule(name),
                    CBAMCrossResolutionWeighting)
                assert once == (m == 0 and b == 0)
                assert isinstance(
                    per_stage.get_submodule(name), CrossResolutionWeighting)


def random_lite_state(extra):
    torch.manual_seed(0)
    lite = LiteHRNet(extra)
    with torch.no_grad():  # every tensor differs from any init's value
        for name, t in lite.state_dict(keep_vars=True).items():
            if not t.is_floating_point():
                continue
            if t.dim() == 1 and name.endswith(('weight', 'running_var')):
                t.uniform_(0.5, 1.5)  # norm scales and variances
            else:
                t.normal_(0, 0.1)
    return lite


class _NoCBAMs(nn.ModuleList):
    """Identities in place of a block's ``BranchCBAMs`` (per branch, and
    as one module on the concatenated maps)."""

    def forward(self, x):
        return x


def test_lite_hrnet_state_dict_loads_with_only_cbams_missing():
    extra = lite_extra()
    lite = random_lite_state(extra)
    theirs = lite.state_dict()
    model = CBAMLiteHRNet(extra)
    ours_before = model.state_dict()
    missing, unexpected = model.load_state_dict(theirs, strict=False)
    assert unexpected == []
    cbam_keys = {k for k in ours_before if '.cbams.' in k}
    assert cbam_keys == set(ours_before) - set(theirs)
    assert len(cbam_keys) == 48 * 10  # 7 parameters + 3 BN buffers per CBAM
    # BatchNorm fills in a missing num_batches_tracked without reporting it
    assert set(missing) == {
        k for k in cbam_keys if not k.endswith('num_batches_tracked')
    }
    ours = model.state_dict()
    for k, v in theirs.items():
        torch.testing.assert_close(ours[k], v, msg=k)
    # with the CBAMs taken out the network is exactly that Lite-HRNet
    for m in model.modules():
        if isinstance(m, CBAMCrossResolutionWeighting):
            m.cbams = _NoCBAMs(nn.Identity() for _ in m.cbams)
    x = torch.randn(1, 3, 64, 64)
    model.eval()
    lite.eval()  # MMPose's LiteHRNet.train returns None: no chaining
    with torch.no_grad():
        out = model(x)[0]
        torch.testing.assert_close(out, lite(x)[0])
    assert torch.isfinite(out).all() and out.std() > 0


def test_lite_hrnet_checkpoint_through_init_cfg(tmp_path):
    extra = tiny_extra()
    lite = random_lite_state(extra)
    ckpt = tmp_path / 'litehrnet.pth'
    state = {f'backbone.{k}': v for k, v in lite.state_dict().items()}
    torch.save(dict(state_dict=state, meta=dict()), ckpt)
    model = CBAMLiteHRNet(
        extra,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    model.init_weights()
    ours = model.state_dict()
    for k, v in lite.state_dict().items():
        torch.testing.assert_close(ours[k], v, msg=k)


def test_registry_build_train_and_norm_eval():
    model = MODELS.build(
        dict(
            type='CBAMLiteHRNet',
            extra=tiny_extra(),
            norm_eval=True,
            cbam_position='full',
            cbam_spatial_kernel_size=3))
    assert model.train() is model
    assert not any(m.training for m in model.modules()
                   if isinstance(m, nn.BatchNorm2d))
    cbam = next(m for m in model.modules() if isinstance(m, CBAM))
    assert cbam.spatial_conv.conv.kernel_size == (3, 3)
    crw = next(m for m in model.modules()
               if isinstance(m, CBAMCrossResolutionWeighting))
    assert crw.cbam_position == 'full'


BAD_EXTRAS = {
    'naive module':
    (lambda e: e['stages_spec'].update(module_type=('LITE', 'NAIVE', 'LITE')),
     r"extra\['stages_spec'\]\['module_type'\]\[1\] = 'NAIVE'.*"
     r"allowed: 'LITE'"),
    'odd width': (lambda e: e['stages_spec'].update(
        num_channels=((8, 16), (8, 15, 32), (8, 16, 32, 64))),
                  r"\['num_channels'\]\[1\]\[1\] = 15 is odd"),
    'widths per branch': (lambda e: e['stages_spec'].update(
        num_channels=((8, 16), (8, 16), (8, 16, 32, 64))),
                          r"\['num_channels'\]\[1\] has 2 entries but "
                          r'num_branches\[1\] is 3'),
    'entries per stage':
    (lambda e: e['stages_spec'].update(num_modules=(1, 1)),
     r"\['num_modules'\] has 2 entries but extra\['num_stages'\] is 3"),
    'missing spec key': (lambda e: e['stages_spec'].pop('reduce_ratios'),
                         r"extra\['stages_spec'\] lacks \['reduce_ratios'\]"),
    'missing extra key': (lambda e: e.pop('with_head'),
                          r"extra lacks \['with_head'\]"),
}


@pytest.mark.parametrize('case', sorted(BAD_EXTRAS))
def test_bad_extra(case):
    extra = copy.deepcopy(tiny_extra())
    mutate, match = BAD_EXTRAS[case]
    mutate(extra)
    with pytest.raises(ValueError, match=match):
        CBAMLiteHRNet(extra)


@pytest.mark.parametrize('kwargs, match', [
    (dict(cbam_blocks='every'), r"cbam_blocks = 'every' is unknown; "
     'allowed: all, first_per_module, first_per_stage'),
    (dict(cbam_position='before'), r"cbam_position = 'before' is unknown"),
    (dict(cbam_reduction_ratio=8, cbam_clamp_hidden=False),
     r'channels\[0\] = 4 is smaller than cbam_reduction_ratio \(8\)'),
    (dict(with_cp=True), 'with_cp=True fails in every forward.*'
     'allowed: with_cp=False'),
])
def test_bad_cbam_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CBAMLiteHRNet(tiny_extra(), **kwargs)


@pytest.mark.parametrize('hw', [(250, 192), (256, 200), (48, 48)])
def test_input_size_the_fusion_cannot_handle(hw):
    model = CBAMLiteHRNet(tiny_extra()).eval()
    with pytest.raises(ValueError, match='multiples of 32'):
        model(torch.randn(1, 3, *hw))
