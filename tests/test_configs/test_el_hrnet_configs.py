"""The EL-HRNet configs carry the paper's settings and build."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmpose.registry import MODELS

import elhrnet_mm  # noqa: F401
from elhrnet_mm.utils.data_check import check_dataset_paths

ROOT = osp.dirname(osp.dirname(osp.dirname(__file__)))
CFG_DIR = osp.join(ROOT, 'configs', 'el_hrnet')
COCO = osp.join(CFG_DIR, 'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192.py')
MPII = osp.join(CFG_DIR, 'td-hm_el-hrnet-w32_1xb8-210e_mpii-256x256.py')
NAME = r'td-hm_[a-z0-9-]+_\d+xb\d+-\d+e_[a-z]+-\d+x\d+\.py'


def all_configs():
    return sorted(glob.glob(osp.join(CFG_DIR, '*.py')))


@pytest.mark.parametrize('path', all_configs(), ids=osp.basename)
def test_config_name_and_build(path):
    import re
    assert re.fullmatch(NAME, osp.basename(path))
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['elhrnet_mm']
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'ELHRNet'
    blocks = {cfg.model.backbone.extra[f'stage{i}'].block for i in (2, 3, 4)}
    expected = ('LA_BASIC' if '_el-hrnet' in path else
                'L_BASIC' if '_l-hrnet' in path else 'BASIC')
    assert blocks == {expected}
    h, w = (int(v) for v in path[:-3].rsplit('-', 1)[1].split('x'))
    assert tuple(cfg.codec.input_size) == (w, h)
    assert tuple(cfg.model.head.decoder.input_size) == (w, h)


def _transform(cfg, name):
    return next(t for t in cfg.train_dataloader.dataset.pipeline
                if t.type == name)


def test_coco_config_follows_paper_section_3_2():
    cfg = Config.fromfile(COCO)
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.train_cfg.max_epochs == 300
    step = cfg.param_scheduler[-1]
    assert step.type == 'MultiStepLR' and step.gamma == 0.1
    assert step.milestones == [120, 170, 200, 260]
    bbox = _transform(cfg, 'RandomBBoxTransform')
    assert bbox.rotate_factor == 45 and tuple(bbox.scale_factor) == (0.65,
                                                                     1.35)
    assert _transform(cfg, 'RandomFlip').direction == 'horizontal'
    assert cfg.model.head.loss.type == 'KeypointMSELoss'
    assert cfg.codec.type == 'MSRAHeatmap' and cfg.codec.sigma == 2
    assert cfg.dataset_type == 'CocoDataset'
    assert cfg.val_evaluator.type == 'CocoMetric'


def test_mpii_config_follows_paper_section_3_2():
    cfg = Config.fromfile(MPII)
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.train_cfg.max_epochs == 210
    assert cfg.param_scheduler[-1].milestones == [170, 200]
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    assert cfg.model.head.out_channels == 16
    assert cfg.train_dataloader.dataset.type == 'MpiiDataset'
    assert cfg.val_dataloader.dataset.type == 'MpiiDataset'
    assert cfg.val_evaluator.type == 'MpiiPCKAccuracy'


def test_missing_real_data_names_paths_and_docs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(COCO)
    with pytest.raises(FileNotFoundError) as err:
        check_dataset_paths(cfg)
    msg = str(err.value)
    assert 'data/coco/annotations/person_keypoints_train2017.json' in msg
    assert 'train_dataloader.dataset.ann_file' in msg
    assert 'val_evaluator[0].ann_file' in msg
    assert 'docs/datasets.md' in msg
    with pytest.raises(FileNotFoundError, match='data/mpii/annotations'):
        check_dataset_paths(Config.fromfile(MPII))
