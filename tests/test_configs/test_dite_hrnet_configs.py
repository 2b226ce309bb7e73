"""The Dite-HRNet and EDite-HRNet configs carry the papers' settings."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmpose.registry import MODELS

import elhrnet_mm  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NAME = r'td-hm_[a-z0-9-]+_\d+xb\d+-\d+e_[a-z]+-\d+x\d+\.py'
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'dite_hrnet', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'edite_hrnet', '*.py')))


def _transform(cfg, name):
    return next(t for t in cfg.train_dataloader.dataset.pipeline
                if t.type == name)


def test_all_configs_found():
    assert len(CONFIGS) == 17


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_name_build_and_training_recipe(path):
    name = osp.basename(path)
    assert re.fullmatch(NAME, name)
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['elhrnet_mm']
    backbone = MODELS.build(cfg.model).backbone
    edite = '_edite-hrnet' in name or 'enhanced-convbn' in name
    assert type(backbone).__name__ == ('EDiteHRNet' if edite else 'DiteHRNet')
    depth = (3, 8, 3) if '-30_' in name else (2, 4, 2)
    assert cfg.model.backbone.extra.stages_spec.num_modules == depth
    h, w = (int(v) for v in name[:-3].rsplit('-', 1)[1].split('x'))
    assert tuple(cfg.codec.input_size) == (w, h)
    assert tuple(cfg.model.head.decoder.input_size) == (w, h)
    assert cfg.codec.sigma == (3 if h == 384 else 2)
    # EDite-HRNet Sec. IV-A2 (= Dite-HRNet's recipe): Adam 2e-3,
    # rotation factor 30, scale factor 0.25, flip; Dite-HRNet's warm-up
    # and steps
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.optim_wrapper.optimizer.lr == 2e-3
    warmup, step = cfg.param_scheduler
    assert (warmup.type, warmup.end, warmup.start_factor) == ('LinearLR', 500,
                                                              0.001)
    assert step.milestones == [170, 200] and step.gamma == 0.1
    epochs = 260 if '_mpii-' in name else 270
    assert cfg.train_cfg.max_epochs == step.end == epochs
    assert f'-{epochs}e_' in name
    bbox = _transform(cfg, 'RandomBBoxTransform')
    assert bbox.rotate_factor == 30
    assert tuple(bbox.scale_factor) == (0.75, 1.25)
    assert _transform(cfg, 'RandomFlip').direction == 'horizontal'
    gpus, batch = (int(v) for v in re.search(r'_(\d+)xb(\d+)-', name).groups())
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == gpus * batch


@pytest.mark.parametrize('pattern,stage_block', [
    ('*_edite-hrnet-s_*', dict(type='EDMCBlock', mix_groups=None)),
    ('*_edite-hrnet-l_*', dict(type='EDMCBlock', mix_groups=1)),
    ('*enhanced-convbn*', dict(type='DMCBlock')),
])
def test_edite_variants(pattern, stage_block):
    paths = glob.glob(osp.join(ROOT, 'configs', 'edite_hrnet', pattern))
    assert paths
    for path in paths:
        backbone = Config.fromfile(path).model.backbone
        assert backbone.stem_block.type == 'EDGCBlock'
        assert backbone.stage_block.conv_bn_cfg.type == 'EnhancedConvBN'
        for key, value in stage_block.items():
            assert backbone.stage_block[key] == value
        if stage_block['type'] == 'DMCBlock':
            assert 'mix_groups' not in backbone.stage_block


@pytest.mark.parametrize('path', [p for p in CONFIGS if '_mpii-' in p],
                         ids=osp.basename)
def test_mpii(path):
    cfg = Config.fromfile(path)
    assert cfg.model.head.out_channels == 16
    assert cfg.train_dataloader.dataset.type == 'MpiiDataset'
    assert cfg.val_evaluator.type == 'MpiiPCKAccuracy'


@pytest.mark.parametrize('path', [p for p in CONFIGS if '_crowdpose-' in p],
                         ids=osp.basename)
def test_crowdpose_trainval_to_test(path):
    cfg = Config.fromfile(path)
    assert cfg.model.head.out_channels == 14
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert train.type == val.type == 'CrowdPoseDataset'
    assert train.ann_file.endswith('mmpose_crowdpose_trainval.json')
    assert val.ann_file.endswith('mmpose_crowdpose_test.json')
    assert cfg.val_evaluator.type == 'CocoMetric'
    assert cfg.val_evaluator.iou_type == 'keypoints_crowd'
    assert cfg.default_hooks.checkpoint.save_best == 'crowdpose/AP'
