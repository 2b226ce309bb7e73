"""A stock MMPose config + custom_imports + our backbone trains and tests."""
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))

pytestmark = pytest.mark.slow


def data_options(root):
    """Point MMPose's COCO settings at the synthetic files (data only)."""
    return {
        'train_dataloader.batch_size': 4,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.data_root': root,
        'train_dataloader.dataset.ann_file':
        'annotations/person_keypoints_train.json',
        'train_dataloader.dataset.data_prefix.img': 'images/train/',
        'val_dataloader.batch_size': 4,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'val_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.ann_file':
        'annotations/person_keypoints_val.json',
        'val_dataloader.dataset.bbox_file': None,
        'val_dataloader.dataset.data_prefix.img': 'images/val/',
        'val_evaluator.ann_file':
        osp.join(root, 'annotations/person_keypoints_val.json'),
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'param_scheduler': [],
        'default_hooks.logger.interval': 1,
    }


def write_config(tmp_path, root):
    cfg_path = tmp_path / 'td-hm_el-hrnet-tiny_stock-mmpose.py'
    text = open(osp.join(HERE, 'stock_mmpose_config.py.txt')).read()
    cfg_path.write_text(text)
    cfg = Config.fromfile(str(cfg_path))
    cfg.merge_from_dict(data_options(root))
    cfg.test_dataloader = cfg.val_dataloader
    cfg.test_evaluator = cfg.val_evaluator
    return cfg


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_coco):
    from mmengine.runner import Runner
    tmp = tmp_path_factory.mktemp('stock')
    cfg = write_config(tmp, tiny_coco)
    cfg.work_dir = str(tmp / 'work')
    # the base config is MMPose's HRNet-W32; only the backbone was swapped
    assert cfg.model.type == 'TopdownPoseEstimator'
    assert cfg.model.head.type == 'HeatmapHead'
    assert cfg.dataset_type == 'CocoDataset'
    runner = Runner.from_cfg(cfg)
    assert type(runner.model.backbone).__name__ == 'ELHRNet'
    runner.train()
    metrics = runner.val_loop.run()
    return cfg, tmp / 'work' / 'epoch_1.pth', metrics


def test_trains_and_validates_with_coco_metric(trained):
    _, ckpt, metrics = trained
    assert ckpt.is_file()
    for key in ('coco/AP', 'coco/AP .5', 'coco/AR'):
        assert key in metrics and 0.0 <= metrics[key] <= 1.0


def test_checkpoint_loads_with_weights_only_after_import(trained):
    _, ckpt, _ = trained
    probe = ('import torch, sys\n'
             'IMPORT\n'
             'c = torch.load(sys.argv[1], map_location="cpu", '
             'weights_only=True)\n'
             'print(sorted(c))\n')
    env = dict(__import__('os').environ)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    ok = subprocess.run(
        [sys.executable, '-c',
         probe.replace('IMPORT', 'import elhrnet_mm'),
         str(ckpt)],
        capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "'state_dict'" in ok.stdout and "'message_hub'" in ok.stdout
    # without our allow-list PyTorch refuses the very same file
    plain = subprocess.run(
        [sys.executable, '-c', probe.replace('IMPORT', ''), str(ckpt)],
        capture_output=True, text=True, env=env)
    assert plain.returncode != 0
    assert 'Weights only load failed' in plain.stderr


def test_tests_from_checkpoint(trained):
    from mmengine.runner import Runner
    cfg, ckpt, metrics = trained
    cfg = cfg.copy()
    cfg.load_from = str(ckpt)
    cfg.work_dir = str(ckpt.parent / 'test')
    test_metrics = Runner.from_cfg(cfg).test()
    assert test_metrics['coco/AP'] == pytest.approx(metrics['coco/AP'])


class _RunsCode:
    """Pickles to a call of os.system: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os
        return os.system, (f'touch {self.marker}', )


def test_checkpoint_that_runs_code_is_refused(tmp_path):
    import elhrnet_mm  # noqa: F401  (our allow-list is active)
    from mmengine.runner import load_checkpoint
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    with open(evil, 'wb') as f:
        torch.save({'state_dict': {}, 'meta': _RunsCode(marker)}, f)
    with pytest.raises(pickle.UnpicklingError, match='os.system|posix.system'):
        torch.load(evil, weights_only=True)
    model = torch.nn.Conv2d(1, 1, 1)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(model, str(evil), map_location='cpu')
    assert not marker.exists()
