"""A checkpoint of another architecture is refused with the mismatched keys
listed, instead of MMEngine's partial load with a log line; loading the
matching part stays possible on request."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpose.registry import MODELS

from elhrnet_mm.engine import prepare_run
from elhrnet_mm.utils.checkpoint_safety import CheckpointMismatchError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'data', 'tiny_elhrnet_config.py')


def tiny_cfg(tmp_path, data_root, **options):
    cfg = Config.fromfile(TINY)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = data_root
    cfg.work_dir = str(tmp_path / 'work')
    cfg.merge_from_dict(options)
    return cfg


@pytest.fixture
def other_checkpoint(tmp_path, tiny_coco):
    """The tiny model with 4 branches and twice the widths."""
    cfg = tiny_cfg(tmp_path, tiny_coco)
    extra = cfg.model.backbone.extra
    for s in ('stage2', 'stage3', 'stage4'):
        extra[s].num_channels = tuple(2 * c for c in extra[s].num_channels)
    extra.stage4.update(
        num_branches=4, num_blocks=(1, ) * 4, num_channels=(32, 64, 128, 256))
    cfg.model.head.in_channels = 32
    init_default_scope('mmpose')
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    return str(path)


def test_other_architecture_is_refused(tmp_path, tiny_coco, other_checkpoint):
    cfg = tiny_cfg(tmp_path, tiny_coco, load_from=other_checkpoint)
    prepare_run(cfg, 'none', splits=('test', ))
    runner = Runner.from_cfg(cfg)
    with pytest.raises(CheckpointMismatchError) as err:
        runner.test()
    msg = str(err.value)
    assert other_checkpoint in msg
    assert 'keys not in the model: backbone.transition3.3.0.0.weight' in msg
    assert ('tensors of another shape: backbone.transition1.0.0.weight '
            '(32, 64, 3, 3) vs model (16, 64, 3, 3)') in msg


def test_partial_load_when_asked(tmp_path, tiny_coco, other_checkpoint):
    cfg = tiny_cfg(
        tmp_path,
        tiny_coco,
        load_from=other_checkpoint,
        custom_hooks=[
            dict(type='CheckpointCompatibilityHook', allow_partial=True)
        ])
    prepare_run(cfg, 'none', splits=('test', ))
    metrics = Runner.from_cfg(cfg).test()
    assert 0.0 <= metrics['coco/AP'] <= 1.0
