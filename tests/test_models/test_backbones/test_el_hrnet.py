import copy

import pytest
import torch
from mmpose.models.backbones import HRNet
from mmpose.registry import MODELS

import elhrnet_mm  # noqa: F401
from elhrnet_mm.models.backbones import ELHRNet
from elhrnet_mm.models.blocks import LABasicBlock, LBasicBlock


def w32_extra(block='LA_BASIC'):
    return dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(4, ),
            num_channels=(64, )),
        stage2=dict(
            num_modules=1,
            num_branches=2,
            block=block,
            num_blocks=(4, 4),
            num_channels=(32, 64)),
        stage3=dict(
            num_modules=4,
            num_branches=3,
            block=block,
            num_blocks=(4, 4, 4),
            num_channels=(32, 64, 128)),
        stage4=dict(
            num_modules=3,
            num_branches=4,
            block=block,
            num_blocks=(4, 4, 4, 4),
            num_channels=(32, 64, 128, 256)))


def tiny_extra(block='LA_BASIC'):
    return dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(1, ),
            num_channels=(16, )),
        stage2=dict(
            num_modules=1,
            num_branches=2,
            block=block,
            num_blocks=(1, 1),
            num_channels=(16, 32)),
        stage3=dict(
            num_modules=1,
            num_branches=3,
            block=block,
            num_blocks=(1, 1, 1),
            num_channels=(16, 32, 64)),
        stage4=dict(
            num_modules=1,
            num_branches=4,
            block=block,
            num_blocks=(1, 1, 1, 1),
            num_channels=(16, 32, 64, 128)))


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('hw', [(256, 192), (256, 256)])
def test_w32_output_shapes(hw):
    model = ELHRNet(w32_extra()).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, *hw))
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (1, 32, hw[0] // 4, hw[1] // 4)


def test_multiscale_output_shapes():
    extra = tiny_extra()
    extra['stage4']['multiscale_output'] = True
    out = ELHRNet(extra).eval()(torch.randn(2, 3, 64, 96))
    assert [tuple(o.shape) for o in out] == [(2, 16, 16, 24), (2, 32, 8, 12),
                                             (2, 64, 4, 6), (2, 128, 2, 3)]


def test_block_types_and_parameter_budget():
    la = ELHRNet(w32_extra('LA_BASIC'))
    lb = ELHRNet(w32_extra('L_BASIC'))
    basic = ELHRNet(w32_extra('BASIC'))
    hrnet = HRNet(w32_extra('BASIC'))
    assert n_params(basic) == n_params(hrnet) == 28_535_552
    blocks = [m for m in la.modules() if isinstance(m, LABasicBlock)]
    assert len(blocks) == 4 * (2 + 4 * 3 + 3 * 4)  # 104 blocks in stages 2-4
    assert not any(isinstance(m, LABasicBlock) for m in lb.modules())
    assert sum(isinstance(m, LBasicBlock) for m in lb.modules()) == 104
    # L-Basicblock: C^2 + 9C conv params + 4C BN params instead of 18C^2 + 4C
    widths = [32] * 4 * 8 + [64] * 4 * 8 + [128] * 4 * 7 + [256] * 4 * 3
    assert n_params(basic) - n_params(lb) == sum(18 * c * c - c * c - 9 * c
                                                 for c in widths)
    # LA adds one CBAM per block
    assert n_params(la) - n_params(lb) == sum(2 * c * c // 16 + c // 16 + c +
                                              100 for c in widths)


def test_builds_from_registry_with_block_cfg():
    model = MODELS.build(
        dict(
            type='ELHRNet',
            extra=tiny_extra(),
            act_cfg=dict(type='ReLU6'),
            block_cfg=dict(groups=2, reduction_ratio=8)))
    block = next(m for m in model.modules() if isinstance(m, LABasicBlock))
    assert block.nconv1.groups == 2
    assert type(block.act).__name__ == 'ReLU6'
    assert block.cbam.channel_mlp[0].conv.out_channels == 16 // 8


def test_zero_init_residual_zeroes_last_norm():
    model = ELHRNet(tiny_extra(), zero_init_residual=True)
    model.init_weights()
    for m in model.modules():
        if isinstance(m, LBasicBlock):
            assert torch.count_nonzero(m.nconv2_norm.weight) == 0


def test_frozen_stages_and_norm_eval():
    model = ELHRNet(tiny_extra(), frozen_stages=2, norm_eval=True)
    model.train()
    assert not any(p.requires_grad for p in model.stage2.parameters())
    assert all(p.requires_grad for p in model.stage3.parameters())
    assert not any(m.training for m in model.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))


def test_hrnet_checkpoint_initialises_shared_layers(tmp_path):
    torch.manual_seed(0)
    hrnet = HRNet(w32_extra('BASIC'))
    hrnet.init_weights()
    for p in hrnet.parameters():  # random, distinct from ELHRNet's init
        torch.nn.init.normal_(p)
    ckpt = tmp_path / 'hrnet_w32.pth'
    state = {f'backbone.{k}': v for k, v in hrnet.state_dict().items()}
    torch.save(dict(state_dict=state, meta=dict()), ckpt)

    model = ELHRNet(
        w32_extra(),
        init_cfg=dict(
            type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    model.init_weights()
    ours, theirs = model.state_dict(), hrnet.state_dict()
    shared = [k for k in ours if k in theirs]
    prefixes = ('conv1.', 'bn1.', 'conv2.', 'bn2.', 'layer1.', 'transition')
    for k in theirs:
        if k.startswith(prefixes) or '.fuse_layers.' in k:
            assert k in ours, f'{k} lost its name'
    assert all(
        k.startswith(prefixes) or '.fuse_layers.' in k for k in shared)
    for k in shared:
        torch.testing.assert_close(ours[k], theirs[k], msg=k)
    # nothing of HRNet's 3x3 BasicBlocks leaks into the LA-Basicblocks
    assert not any('.branches.' in k for k in shared)
    assert len(shared) == 504


BAD_EXTRAS = {
    'unknown block': (lambda e: e['stage3'].update(block='FOO'),
                      r"extra\['stage3'\]\['block'\] = 'FOO' is unknown; "
                      r'allowed: BASIC, BOTTLENECK, L_BASIC, LA_BASIC'),
    'mismatched lengths': (lambda e: e['stage2'].update(num_blocks=(1, )),
                           r"extra\['stage2'\]\['num_blocks'\] has 1 entries "
                           r'but num_branches is 2'),
    'missing stage': (lambda e: e.pop('stage4'), r"extra lacks \['stage4'\]"),
    'odd channels': (lambda e: e['stage3'].update(num_channels=(16, 33, 64)),
                     r"extra\['stage3'\]\['num_channels'\]\[1\] = 33 is odd"),
    'missing key': (lambda e: e['stage2'].pop('num_modules'), 'num_modules'),
}


@pytest.mark.parametrize('case', sorted(BAD_EXTRAS))
def test_bad_stage_specs(case):
    extra = copy.deepcopy(tiny_extra())
    mutate, msg = BAD_EXTRAS[case]
    mutate(extra)
    with pytest.raises(ValueError, match=msg):
        ELHRNet(extra)


def test_groups_that_do_not_split_channels():
    with pytest.raises(
            ValueError,
            match=r"\[0\] = 16: its half \(8\) does not split into "
            r"block_cfg\['groups'\] = 3 groups"):
        ELHRNet(tiny_extra(), block_cfg=dict(groups=3))


def test_unknown_block_cfg_key():
    with pytest.raises(ValueError, match=r"unknown keys \['ratio'\]"):
        ELHRNet(tiny_extra(), block_cfg=dict(ratio=8))
    with pytest.raises(ValueError, match='reduction_ratio'):
        ELHRNet(tiny_extra('L_BASIC'), block_cfg=dict(reduction_ratio=8))


def test_cbam_ratio_larger_than_channels():
    with pytest.raises(ValueError, match='reduction_ratio'):
        ELHRNet(tiny_extra(), block_cfg=dict(reduction_ratio=32))


@pytest.mark.parametrize('hw', [(250, 192), (256, 200), (100, 100)])
def test_input_size_fusion_cannot_handle(hw):
    model = ELHRNet(tiny_extra()).eval()
    with pytest.raises(ValueError, match='multiples of 32'):
        model(torch.randn(1, 3, *hw))
