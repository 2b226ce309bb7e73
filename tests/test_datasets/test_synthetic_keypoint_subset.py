"""The synthetic generator's keypoint subset (a non-COCO keypoint set)."""
import json

import numpy as np
import pytest

from elhrnet_mm.datasets import synthetic_coco as sc

SUBSET = ['nose', 'left_shoulder', 'right_shoulder', 'left_hip', 'right_hip']
SMALL = dict(num_train_images=2, num_val_images=2, seed=5,
             image_size=(96, 96), max_people=2)


def test_subset_annotations_are_the_full_ones_restricted(tmp_path):
    full = sc.ensure_synthetic_coco(str(tmp_path / 'full'), **SMALL)
    part = sc.ensure_synthetic_coco(str(tmp_path / 'part'),
                                    keypoint_subset=SUBSET, **SMALL)
    for split in ('train', 'val'):
        name = f'annotations/person_keypoints_{split}.json'
        a = json.load(open(f'{full}/{name}'))
        b = json.load(open(f'{part}/{name}'))
        assert b['categories'][0]['keypoints'] == SUBSET
        # COCO links between kept keypoints, 1-based in the new order
        assert b['categories'][0]['skeleton'] == [[4, 5], [2, 4], [3, 5],
                                                  [2, 3]]
        assert len(a['annotations']) == len(b['annotations']) > 0
        ids = [sc.COCO_KEYPOINT_NAMES.index(n) for n in SUBSET]
        for x, y in zip(a['annotations'], b['annotations']):
            full_kpts = np.array(x['keypoints']).reshape(17, 3)
            np.testing.assert_array_equal(
                np.array(y['keypoints']).reshape(5, 3), full_kpts[ids])
            assert y['num_keypoints'] == np.count_nonzero(full_kpts[ids, 2])
            assert y['bbox'] == x['bbox']
    assert json.load(open(f'{part}/meta.json'))['keypoint_subset'] == SUBSET
    # the images are the same
    assert (open(f'{full}/images/val/00000001.jpg', 'rb').read() ==
            open(f'{part}/images/val/00000001.jpg', 'rb').read())


def test_subset_metainfo_parses_in_mmpose(tmp_path):
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    root = sc.ensure_synthetic_coco(str(tmp_path / 'part'),
                                    keypoint_subset=SUBSET, **SMALL)
    meta = parse_pose_metainfo(dict(from_file=f'{root}/dataset_info.py'))
    assert meta['num_keypoints'] == 5
    assert meta['flip_indices'] == [0, 2, 1, 4, 3]
    assert meta['keypoint_id2name'][3] == 'left_hip'
    assert meta['num_skeleton_links'] == 4
    coco = parse_pose_metainfo(dict(
        from_file='configs/_base_/datasets/coco.py'))
    np.testing.assert_allclose(meta['sigmas'], coco['sigmas'][[0, 5, 6, 11,
                                                              12]])
    # a lone side keypoint has no flip partner
    lone = sc.keypoint_subset_metainfo(['nose', 'left_eye'])
    assert lone['keypoint_info'][1]['swap'] == ''


def test_subset_errors_and_cache_mismatch(tmp_path):
    with pytest.raises(ValueError, match=r"'left_paw' is not a COCO "
                       r'keypoint; allowed'):
        sc.ensure_synthetic_coco(str(tmp_path / 'x'),
                                 keypoint_subset=['nose', 'left_paw'])
    with pytest.raises(ValueError, match='repeated'):
        sc.ensure_synthetic_coco(str(tmp_path / 'x'),
                                 keypoint_subset=['nose', 'nose'])
    with pytest.raises(ValueError, match='non-empty list'):
        sc.ensure_synthetic_coco(str(tmp_path / 'x'), keypoint_subset='nose')
    root = sc.ensure_synthetic_coco(str(tmp_path / 'full'), **SMALL)
    with pytest.raises(ValueError, match='generated with'):
        sc.ensure_synthetic_coco(root, keypoint_subset=SUBSET, **SMALL)
