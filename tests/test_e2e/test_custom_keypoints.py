"""A config with its own keypoint set (5 of COCO's 17) trains and evaluates.

The recipe of docs/custom_dataset.md on a synthetic COCO-format dataset with
5 keypoints: the dataset's metainfo file, the codec, the head's
``out_channels`` = K; MMPose's own CocoMetric scores it (OKS with the 5
sigmas).
"""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_elhrnet_config.py')
SUBSET = ['nose', 'left_shoulder', 'right_shoulder', 'left_hip', 'right_hip']


@pytest.mark.slow
def test_five_keypoint_config_trains_and_evaluates(tmp_path):
    from mmengine.config import Config

    from elhrnet_mm.datasets import synthetic_coco as sc
    root = sc.ensure_synthetic_coco(
        str(tmp_path / 'five'), num_train_images=8, num_val_images=4,
        seed=1, max_people=1, keypoint_subset=SUBSET)
    with open(osp.join(root, 'meta.json')) as f:
        people = json.load(f)['num_train_instances']
    info = osp.join(root, sc.DATASET_INFO_FILE)
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.head.out_channels = len(SUBSET)
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        dataset.data_root = root
        dataset.metainfo = dict(from_file=info)
    cfg.model.test_cfg = dict(flip_test=True, flip_mode='heatmap',
                              shift_heatmap=True)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
    config = str(tmp_path / 'five_kpt.py')
    cfg.dump(config)
    work = tmp_path / 'work'
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
         '--work-dir', str(work)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES=''))
    assert out.returncode == 0, out.stdout[-3000:]

    scalars = sorted(glob.glob(str(work / '*' / 'vis_data' /
                                   'scalars.json')))[-1]
    rows = [json.loads(line) for line in open(scalars)]
    losses = [r['loss'] for r in rows if 'loss' in r]
    # 2 epochs of batches of 4 people
    assert len(losses) == 2 * math.ceil(people / 4)
    assert all(np.isfinite(losses))
    val = [r for r in rows if 'coco/AP' in r]
    assert len(val) == 1
    for key in ('coco/AP', 'coco/AP .5', 'coco/AR'):
        assert 0.0 <= val[0][key] <= 1.0

    import torch
    ckpt = torch.load(str(work / 'epoch_2.pth'), map_location='cpu',
                      weights_only=False)
    meta = ckpt['meta']['dataset_meta']
    assert meta['num_keypoints'] == 5
    assert meta['dataset_name'] == 'synthetic_coco_5kpt'
    assert meta['flip_indices'] == [0, 2, 1, 4, 3]
    assert len(meta['sigmas']) == 5
    assert ckpt['state_dict']['head.final_layer.weight'].shape[0] == 5

    # and MMPose's API predicts 5 keypoints per person with it
    from mmpose.apis import inference_topdown, init_model
    model = init_model(config, str(work / 'epoch_2.pth'), device='cpu')
    image = sorted(glob.glob(osp.join(root, 'images', 'val', '*.jpg')))[0]
    sample, = inference_topdown(model, image)
    assert sample.pred_instances.keypoints.shape == (1, 5, 2)
