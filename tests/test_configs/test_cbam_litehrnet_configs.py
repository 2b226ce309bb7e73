"""The CBAM-LiteHRNet configs: MMPose's Lite-HRNet recipes, our backbone."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmpose.registry import MODELS

import elhrnet_mm  # noqa: F401
from elhrnet_mm.analysis.published import find_rows
from elhrnet_mm.utils.mmpose_models import mmpose_config_path

ROOT = osp.dirname(osp.dirname(osp.dirname(__file__)))
CFG_DIR = osp.join(ROOT, 'configs', 'cbam_litehrnet')
NAME = (r'td-hm_cbam-litehrnet-(?P<depth>18|30)(?P<w48>-w48)?_8xb(?P<bs>\d+)'
        r'-210e_(?P<data>coco|mpii)-(?P<h>\d+)x(?P<w>\d+)\.py')
WIDTHS = {False: (40, 80, 160, 320), True: (48, 96, 192, 384)}


def all_configs():
    return sorted(glob.glob(osp.join(CFG_DIR, '*.py')))


def mmpose_base(name):
    """MMPose's Lite-HRNet config of the same depth, data, input, batch."""
    m = re.fullmatch(NAME, name)
    return mmpose_config_path(
        f'body_2d_keypoint/topdown_heatmap/{m["data"]}/td-hm_litehrnet-'
        f'{m["depth"]}_8xb{m["bs"]}-210e_{m["data"]}-{m["h"]}x{m["w"]}.py')


def plain(value):
    """A config dict without the ``_scope_`` keys ``mmpose::`` bases add."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def test_the_expected_configs_exist():
    names = {osp.basename(p) for p in all_configs()}
    for stem in ('18', '30', '18-w48'):
        assert f'td-hm_cbam-litehrnet-{stem}_8xb64-210e_coco-256x192.py' \
            in names
        assert f'td-hm_cbam-litehrnet-{stem}_8xb32-210e_coco-384x288.py' \
            in names
    for stem in ('18', '30'):
        assert f'td-hm_cbam-litehrnet-{stem}_8xb64-210e_mpii-256x256.py' \
            in names


@pytest.mark.parametrize('path', all_configs(), ids=osp.basename)
def test_config_is_mmpose_recipe_with_cbam_backbone(path):
    name = osp.basename(path)
    m = re.fullmatch(NAME, name)
    assert m, name
    ours = Config.fromfile(path)
    assert ours.custom_imports.imports == ['elhrnet_mm']
    backbone = ours.model.backbone
    assert backbone.type == 'CBAMLiteHRNet'
    assert tuple(backbone.extra.stages_spec.num_channels[-1]) == \
        WIDTHS[bool(m['w48'])]
    assert ours.model.head.in_channels == WIDTHS[bool(m['w48'])][0]
    assert tuple(ours.codec.input_size) == (int(m['w']), int(m['h']))
    # everything but the backbone type (CBAMLiteHRNet's defaults) and, for
    # w48, the widths is MMPose's own Lite-HRNet config
    theirs = Config.fromfile(mmpose_base(name)).to_dict()
    mine = plain(ours.to_dict())
    mine.pop('custom_imports')
    # our runtime (configs/_base_/default_runtime.py): MMPose's hooks with
    # AtomicCheckpointHook for CheckpointHook, and three custom hooks more
    mine.pop('atomic_checkpoint_hook')
    ours_only = mine.pop('elhrnet_custom_hooks')
    checkpoint = mine['default_hooks']['checkpoint']
    assert checkpoint['type'] == 'AtomicCheckpointHook'
    checkpoint['type'] = theirs['default_hooks']['checkpoint']['type']
    assert mine['custom_hooks'] == theirs['custom_hooks'] + ours_only
    mine['custom_hooks'] = theirs['custom_hooks']
    mine['model']['backbone']['type'] = 'LiteHRNet'
    if m['w48']:
        spec = theirs['model']['backbone']['extra']['stages_spec']
        spec['num_channels'] = tuple(
            WIDTHS[True][:len(c)] for c in spec['num_channels'])
        theirs['model']['head']['in_channels'] = 48
    assert mine == theirs
    model = MODELS.build(ours.model)
    assert type(model.backbone).__name__ == 'CBAMLiteHRNet'


def test_published_rows_name_our_configs():
    (coco, ) = find_rows(
        config_name='td-hm_cbam-litehrnet-18_8xb64-210e_coco-256x192')
    assert (coco['table'], coco['metrics']['AP']) == ('Table I', 67.0)
    (w48, ) = find_rows(
        config_name='td-hm_cbam-litehrnet-18-w48_8xb32-210e_coco-384x288')
    assert (w48['table'], w48['metrics']['AP']) == ('Table I', 69.9)
    (mpii, ) = find_rows(
        config_name='td-hm_cbam-litehrnet-30_8xb64-210e_mpii-256x256')
    assert (mpii['table'], mpii['metrics']['Mean']) == ('Table II', 87.1)
    for row in (coco, w48, mpii):
        assert osp.isfile(osp.join(CFG_DIR, row['ours'] + '.py'))
    assert len(find_rows(paper='cbam-litehrnet')) == 9 + 5


@pytest.mark.slow
def test_trains_and_validates_on_synthetic_coco(tmp_path, tiny_coco):
    """A few iterations at 128x96, batch 4, through MMEngine's Runner."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(
        osp.join(CFG_DIR,
                 'td-hm_cbam-litehrnet-18_8xb64-210e_coco-256x192.py'))
    codec = dict(
        type='MSRAHeatmap',
        input_size=(96, 128),
        heatmap_size=(24, 32),
        sigma=2)
    cfg.model.head.decoder = codec
    for split in ('train', 'val'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=4, num_workers=0, persistent_workers=False)
        loader.dataset.update(
            data_root=tiny_coco,
            ann_file=f'annotations/person_keypoints_{split}.json',
            data_prefix=dict(img=f'images/{split}/'))
        for step in loader.dataset.pipeline:
            if step.type == 'TopdownAffine':
                step.input_size = codec['input_size']
            if step.type == 'GenerateTarget':
                step.encoder = codec
    cfg.val_dataloader.dataset.bbox_file = None
    cfg.val_evaluator.ann_file = osp.join(
        tiny_coco, 'annotations/person_keypoints_val.json')
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')

    runner = Runner.from_cfg(cfg)
    backbone = runner.model.backbone
    name = 'stage1.0.layers.0.cross_resolution_weighting.cbams.0.' \
        'channel_mlp.1.conv.weight'
    before = backbone.get_parameter(name).detach().clone()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runner.train()
    finally:
        torch.set_num_threads(threads)
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
    # the CBAMs get gradients and are updated with everything else
    assert not torch.equal(before, backbone.get_parameter(name).detach())
    metrics = runner.message_hub.get_scalar('val/coco/AP')
    assert 0.0 <= metrics.current() <= 1.0
