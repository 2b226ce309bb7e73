"""Tests of the built-in synthetic COCO person-keypoint dataset."""
import json
import os
import os.path as osp
import socket
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpose.datasets import CocoDataset
from mmpose.evaluation import CocoMetric
from mmpose.registry import DATASETS

import elhrnet_mm  # noqa: F401  (registers SyntheticCocoDataset)
from elhrnet_mm.datasets import synthetic_coco as sc

SMALL = dict(num_train_images=24, num_val_images=16, seed=3,
             image_size=(160, 128))
SPLITS = ('train', 'val')


def _tree_bytes(root: Path) -> Dict[str, bytes]:
    """Relative path -> content of every file under ``root``."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob('*')) if p.is_file()
    }


def _load(root: Path, split: str) -> dict:
    return json.loads(
        (root / 'annotations' / f'person_keypoints_{split}.json').read_text())


@pytest.fixture(scope='module')
def small_root(tmp_path_factory) -> Path:
    """A small dataset shared by the read-only tests."""
    root = tmp_path_factory.mktemp('synthetic') / 'data'
    sc.generate_synthetic_coco(str(root), **SMALL)
    return root


def test_layout_and_meta(small_root: Path):
    meta = json.loads((small_root / 'meta.json').read_text())
    assert meta['num_train_images'] == SMALL['num_train_images']
    assert meta['image_size'] == list(SMALL['image_size'])
    for split in SPLITS:
        coco = _load(small_root, split)
        assert len(coco['images']) == meta[f'num_{split}_images']
        assert len(coco['annotations']) == meta[f'num_{split}_instances']
        files = sorted(os.listdir(small_root / 'images' / split))
        assert files == sorted(im['file_name'] for im in coco['images'])
        assert files[0] == '00000001.jpg'


def test_deterministic(small_root: Path, tmp_path: Path):
    sc.generate_synthetic_coco(str(tmp_path / 'same'), **SMALL)
    assert _tree_bytes(tmp_path / 'same') == _tree_bytes(small_root)

    other = dict(SMALL, seed=SMALL['seed'] + 1, num_train_images=2,
                 num_val_images=1)
    sc.generate_synthetic_coco(str(tmp_path / 'other'), **other)
    assert _load(tmp_path / 'other', 'train') != _load(small_root, 'train')
    assert ((tmp_path / 'other/images/train/00000001.jpg').read_bytes() !=
            (small_root / 'images/train/00000001.jpg').read_bytes())


def test_schema_matches_mmpose_coco_metainfo(small_root: Path):
    metainfo = CocoDataset._load_metainfo()
    names = [metainfo['keypoint_id2name'][i] for i in range(17)]
    links = {tuple(sorted(link)) for link in metainfo['skeleton_links']}
    for split in SPLITS:
        coco = _load(small_root, split)
        assert set(coco) >= {'images', 'annotations', 'categories'}
        (cat, ) = coco['categories']
        assert cat['id'] == 1 and cat['name'] == 'person'
        assert cat['keypoints'] == names == list(sc.COCO_KEYPOINT_NAMES)
        assert {tuple(sorted((a - 1, b - 1)))
                for a, b in cat['skeleton']} == links
        for im in coco['images']:
            assert set(im) >= {'id', 'file_name', 'width', 'height'}
            assert (im['width'], im['height']) == SMALL['image_size']
        for ann in coco['annotations']:
            assert set(ann) >= {
                'id', 'image_id', 'category_id', 'keypoints',
                'num_keypoints', 'bbox', 'area', 'iscrowd'
            }
            assert ann['category_id'] == 1 and ann['iscrowd'] == 0
            assert len(ann['keypoints']) == 17 * 3
            assert len(ann['bbox']) == 4


def test_annotation_geometry(small_root: Path):
    width, height = SMALL['image_size']
    for split in SPLITS:
        for ann in _load(small_root, split)['annotations']:
            kpts = np.array(ann['keypoints'], dtype=float).reshape(17, 3)
            vis = kpts[:, 2]
            assert set(vis) <= {0, 1, 2}
            assert ann['num_keypoints'] == np.count_nonzero(vis) > 0
            assert (kpts[vis == 0, :2] == 0).all()
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0
            assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
            assert ann['area'] == pytest.approx(w * h, abs=0.05)
            shown = kpts[vis > 0, :2]
            assert (shown >= 0).all()
            assert (shown[:, 0] <= width - 1).all()
            assert (shown[:, 1] <= height - 1).all()
            assert (shown[:, 0] >= x).all() and (shown[:, 0] <= x + w).all()
            assert (shown[:, 1] >= y).all() and (shown[:, 1] <= y + h).all()


def test_occlusion_cutoff_and_crowds_happen(small_root: Path):
    anns = _load(small_root, 'train')['annotations']
    vis = np.concatenate(
        [np.array(a['keypoints']).reshape(17, 3)[:, 2] for a in anns])
    assert (vis == 1).sum() > 0, 'no occluded keypoint (v=1)'
    assert (vis == 0).sum() > 0, 'no keypoint outside the image (v=0)'
    assert (vis == 2).mean() > 0.5
    people = np.bincount([a['image_id'] for a in anns])
    assert people.max() >= 2, 'no image with several people'


@pytest.mark.parametrize('kwargs, argument', [
    (dict(num_train_images=0), 'num_train_images'),
    (dict(num_val_images=-1), 'num_val_images'),
    (dict(num_val_images=2.5), 'num_val_images'),
    (dict(seed=-1), 'seed'),
    (dict(image_size=(32, 240)), 'image_size'),
    (dict(image_size=(320, )), 'image_size'),
    (dict(max_people=0), 'max_people'),
])
def test_bad_arguments_raise(tmp_path: Path, kwargs: dict, argument: str):
    with pytest.raises(ValueError, match=argument):
        sc.generate_synthetic_coco(str(tmp_path / 'x'), **kwargs)
    with pytest.raises(ValueError, match=argument):
        sc.ensure_synthetic_coco(str(tmp_path / 'y'), **kwargs)
    assert not (tmp_path / 'y').exists()


def test_ensure_is_atomic_and_checks_parameters(tmp_path: Path,
                                                small_root: Path):
    root = tmp_path / 'cache' / 'synthetic'
    root.parent.mkdir()
    # Leftovers of interrupted runs: one of a dead process of this host
    # (removed) and one of another host (left alone); neither breaks it.
    stale = root.parent / (
        f'.synthetic.tmp-{socket.gethostname()}-999999999-abc')
    foreign = root.parent / '.synthetic.tmp-otherhost-1-abc'
    for d in (stale, foreign):
        (d / 'annotations').mkdir(parents=True)
        (d / 'annotations' / 'person_keypoints_train.json').write_text('{')

    assert sc.ensure_synthetic_coco(str(root), **SMALL) == str(root)
    assert _tree_bytes(root) == _tree_bytes(small_root)
    # Same permissions as the folders inside (mkdtemp's are private).
    mode = root.stat().st_mode & 0o777
    assert mode == (root / 'images').stat().st_mode & 0o777
    assert sorted(os.listdir(root.parent)) == sorted(
        [foreign.name, root.name])

    # A complete dataset is reused, not regenerated.
    stamp = (root / 'meta.json').stat().st_mtime_ns
    sc.ensure_synthetic_coco(str(root), **SMALL)
    assert (root / 'meta.json').stat().st_mtime_ns == stamp
    # Other parameters do not silently reuse it.
    with pytest.raises(ValueError, match='generated with'):
        sc.ensure_synthetic_coco(str(root), **dict(SMALL, seed=0))
    # A non-empty directory that is not a synthetic dataset is not touched.
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'notes.txt').write_text('keep')
    with pytest.raises(ValueError, match='non-empty'):
        sc.ensure_synthetic_coco(str(tmp_path / 'mine'), **SMALL)


def test_ensure_leaves_nothing_when_interrupted(tmp_path: Path,
                                                monkeypatch):
    root = tmp_path / 'synthetic'

    def interrupted(out: str, **kwargs) -> None:
        os.makedirs(osp.join(out, 'annotations'))
        raise KeyboardInterrupt

    monkeypatch.setattr(sc, 'generate_synthetic_coco', interrupted)
    with pytest.raises(KeyboardInterrupt):
        sc.ensure_synthetic_coco(str(root), **SMALL)
    assert os.listdir(tmp_path) == []


def test_ensure_uses_result_of_concurrent_winner(tmp_path: Path,
                                                 monkeypatch):
    root = tmp_path / 'synthetic'
    real = sc.generate_synthetic_coco
    small = dict(SMALL, num_train_images=2, num_val_images=1)

    def racing(out: str, **kwargs) -> dict:
        real(str(root), **kwargs)  # another process finishes first
        return real(out, **kwargs)

    monkeypatch.setattr(sc, 'generate_synthetic_coco', racing)
    assert sc.ensure_synthetic_coco(str(root), **small) == str(root)
    assert sorted(os.listdir(tmp_path)) == ['synthetic']
    assert (root / 'meta.json').is_file()


def test_default_root_follows_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv('ELHRNET_MM_DATA', str(tmp_path))
    assert sc.synthetic_coco_root() == str(tmp_path / 'synthetic_coco_v1')
    monkeypatch.delenv('ELHRNET_MM_DATA')
    assert sc.synthetic_coco_root() == osp.expanduser(
        '~/.cache/elhrnet_mm/synthetic_coco_v1')


def _topdown_pipeline() -> List[dict]:
    codec = dict(type='MSRAHeatmap', input_size=(192, 256),
                 heatmap_size=(48, 64), sigma=2)
    return [
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale'),
        dict(type='RandomFlip', direction='horizontal'),
        dict(type='TopdownAffine', input_size=codec['input_size']),
        dict(type='GenerateTarget', encoder=codec),
        dict(type='PackPoseInputs'),
    ]


def test_dataset_builds_from_registry_and_generates(tmp_path: Path):
    root = tmp_path / 'empty_cache'
    with DefaultScope.overwrite_default_scope('mmpose'):
        dataset = DATASETS.build(
            dict(type='SyntheticCocoDataset', data_root=str(root),
                 data_mode='topdown',
                 ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='images/train/'),
                 pipeline=_topdown_pipeline(), **SMALL))
    assert isinstance(dataset, CocoDataset)
    assert (root / 'meta.json').is_file()
    meta = json.loads((root / 'meta.json').read_text())
    assert 0 < len(dataset) <= meta['num_train_instances']
    assert dataset.metainfo['dataset_name'] == 'coco'

    sample = dataset[0]
    assert sample['inputs'].shape == (3, 256, 192)
    assert sample['inputs'].dtype == torch.uint8
    gt = sample['data_samples']
    assert gt.gt_fields.heatmaps.shape == (17, 64, 48)
    assert gt.gt_instance_labels.keypoint_weights.shape == (1, 17)
    assert gt.gt_instance_labels.keypoint_weights.sum() > 0


def _gt_as_predictions(dataset: CocoDataset, shift: float) -> List[dict]:
    """Data samples as a top-down model would emit them, with the ground
    truth (moved by ``shift`` pixels) as predicted keypoints."""
    samples = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        samples.append(dict(
            id=info['id'], img_id=info['img_id'], category_id=1,
            ori_shape=SMALL['image_size'][::-1],
            raw_ann_info=info['raw_ann_info'],
            pred_instances=dict(
                keypoints=info['keypoints'] + shift,
                keypoint_scores=np.ones((1, 17), dtype=np.float32)),
            gt_instances=dict(bbox_scores=np.ones(1, dtype=np.float32))))
    return samples


@pytest.mark.parametrize('use_ann_file', [True, False])
def test_coco_metric_on_ground_truth(small_root: Path, tmp_path: Path,
                                     use_ann_file: bool):
    dataset = DATASETS.build(
        dict(type='SyntheticCocoDataset', data_root=str(small_root),
             ann_file='annotations/person_keypoints_val.json',
             data_prefix=dict(img='images/val/'), test_mode=True, **SMALL))
    ann_file = str(small_root / 'annotations/person_keypoints_val.json')
    aps = []
    for shift in (0.0, 4.0):
        metric = CocoMetric(ann_file=ann_file if use_ann_file else None,
                            outfile_prefix=str(tmp_path / f'pred{shift}'))
        metric.dataset_meta = dataset.metainfo
        metric.process([], _gt_as_predictions(dataset, shift))
        aps.append(metric.evaluate(size=len(dataset))['coco/AP'])
    assert aps[0] > 0.99
    assert aps[1] < aps[0] - 0.05
