import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpose.models.backbones import LiteHRNet
from mmpose.models.backbones.litehrnet import LiteHRModule
from mmpose.registry import MODELS

import elhrnet_mm  # noqa: F401
from elhrnet_mm.models.backbones import DiteHRNet
from elhrnet_mm.models.blocks import DGCBlock, DMCBlock
from elhrnet_mm.analysis.counters import count_params, torchstat_flops
from elhrnet_mm.utils.mmpose_models import build_estimator

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CFG = osp.join(ROOT, 'configs', 'dite_hrnet')


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    # thousands of small ops: with more intra-op threads than free cores
    # (a shared CI machine), OpenMP barriers dominate the run time
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def extra(num_modules=(2, 4, 2)):
    return dict(
        stem=dict(stem_channels=32, out_channels=32),
        num_stages=3,
        stages_spec=dict(
            num_modules=num_modules,
            num_branches=(2, 3, 4),
            num_blocks=(2, 2, 2),
            with_fuse=(True, True, True),
            num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320))),
        with_head=True)


def tiny_extra():
    return dict(
        stem=dict(stem_channels=32, out_channels=32),
        num_stages=2,
        stages_spec=dict(
            num_modules=(1, 1),
            num_branches=(2, 3),
            num_blocks=(1, 1),
            with_fuse=(True, True),
            num_channels=((16, 32), (16, 32, 64))),
        with_head=True)


@pytest.fixture(scope='module')
def dite18():
    return DiteHRNet(extra()).eval()


def test_is_litehrnet_with_dynamic_blocks(dite18):
    m = dite18
    assert isinstance(m, LiteHRNet)
    assert isinstance(m.stem.block, DGCBlock)
    modules = [mod for s in range(3) for mod in getattr(m, f'stage{s}')]
    assert len(modules) == 8
    assert all(isinstance(mod, LiteHRModule) for mod in modules)
    assert all(
        isinstance(block, DMCBlock) for mod in modules for block in mod.layers)
    assert all(mod.relu.inplace for mod in modules)


@pytest.mark.parametrize('h,w', [(256, 192), (384, 288), (256, 256)])
def test_output_shape(dite18, h, w):
    with torch.no_grad():
        (out, ) = dite18(torch.randn(1, 3, h, w))
    assert out.shape == (1, 40, h // 4, w // 4)


# Published (Li et al., IJCAI 2022; official README): torchstat FLOPs in
# M = 2**20 and params printed truncated ("1.1M" / "1.8M"). The exact totals
# (params 1,185,477 / 1,860,041; Dite-18 256x192 219,991,891 FLOPs) are those
# the architecture notes rebuild from the official code
# (shared/reference/ARCHITECTURE_NOTES.md, Sec. 0); all include the 40->17
# (MPII: 40->16) final 1x1 conv.
@pytest.mark.parametrize('config,h,w,published', [
    ('td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py', 256, 192, 209.8),
    ('td-hm_dite-hrnet-18_8xb32-270e_coco-384x288.py', 384, 288, 471.8),
    ('td-hm_dite-hrnet-18_8xb32-260e_mpii-256x256.py', 256, 256, 279.5),
])
def test_dite18_complexity_matches_published(config, h, w, published):
    model = build_estimator(Config.fromfile(osp.join(CFG, config)))
    stat = torchstat_flops(model, (1, 3, h, w))
    assert stat.unknown_modules == ()
    assert abs(stat.flops_binary_m / published - 1) <= 0.01
    joints = model.head.final_layer.out_channels
    assert count_params(model) == stat.params == 1185477 - 41 * (17 - joints)
    if (h, w) == (256, 192):
        assert stat.flops == 219991891


def test_dite30_complexity_matches_published():
    model = build_estimator(
        Config.fromfile(
            osp.join(CFG, 'td-hm_dite-hrnet-30_8xb32-270e_coco-256x192.py')))
    stat = torchstat_flops(model, (1, 3, 256, 192))
    assert abs(stat.flops_binary_m / 329.8 - 1) <= 0.01
    assert count_params(model) == stat.params == 1860041


def test_stem_params_and_flops(dite18):
    # ARCHITECTURE_NOTES Sec. 2, DGC block: stem 5,236 params, 19.79M
    # torchstat FLOPs at 256x192
    stem = dite18.stem
    assert count_params(stem) == 5236
    assert round(torchstat_flops(stem, (1, 3, 256, 192)).flops / 1e6,
                 2) == 19.79


def test_block_and_stem_overrides():
    m = DiteHRNet(
        tiny_extra(),
        stage_block=dict(
            type='DMCBlock', dcm_pooling='window', gcm_reductions=(2, 2, 2)),
        stem_block=dict(type='DGCBlock', num_kernels=2))
    block = m.stage0[0].layers[0]
    assert block.gcm[0].channel_attention[0].conv.out_channels == 4
    assert m.stem.block.branch1.dw[0].aggregation.num_kernels == 2
    out = m(torch.randn(2, 3, 64, 64))[0]
    assert out.shape == (2, 16, 16, 16)


def test_trains_a_step_and_norm_eval():
    torch.manual_seed(0)
    m = DiteHRNet(tiny_extra())
    m.init_weights()
    out = m(torch.randn(2, 3, 64, 32))[0]
    out.square().mean().backward()
    grads = [p.grad for p in m.parameters()]
    assert all(g is not None for g in grads)
    frozen = DiteHRNet(tiny_extra(), norm_eval=True).train()
    assert not any(mod.training for mod in frozen.modules()
                   if isinstance(mod, torch.nn.BatchNorm2d))


def test_registered_and_builds_from_dict():
    m = MODELS.build(dict(type='DiteHRNet', extra=tiny_extra()))
    assert type(m) is DiteHRNet


@pytest.mark.parametrize('change,msg', [
    (lambda e: e.pop('with_head'), r"extra lacks \['with_head'\]"),
    (lambda e: e['stem'].update(out_channels=24), 'must be equal'),
    (lambda e: e['stages_spec'].update(num_blocks=(1, )), 'num_blocks'),
    (lambda e: e['stages_spec'].update(num_channels=((16, 32),
                                                     (16, 32, 64, 128))),
     'num_channels'),
    (lambda e: e['stages_spec'].update(num_channels=((16, 33), (16, 32, 64))),
     'odd'),
    (lambda e: e['stages_spec'].update(
        num_branches=(3, 2), num_channels=((16, 32, 64), (16, 32))), 'fewer'),
])
def test_bad_extra(change, msg):
    e = tiny_extra()
    change(e)
    with pytest.raises(ValueError, match=msg):
        DiteHRNet(e)


def test_input_size_check(dite18):
    with pytest.raises(ValueError, match='multiples of 32'):
        dite18(torch.randn(1, 3, 250, 192))
