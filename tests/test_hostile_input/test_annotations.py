"""Hostile COCO annotation files: an error naming the file, the entry and the
field, or a warning for what MMPose itself skips; never a NaN that reaches
the loss."""
import copy
import json
import math
import os.path as osp
import re

import pytest
from mmengine.config import Config

from elhrnet_mm.engine import prepare_run
from elhrnet_mm.utils.annotation_check import (check_annotation_files,
                                               check_coco_annotations)

ANN = 'annotations/person_keypoints_train.json'


@pytest.fixture
def coco(tiny_coco):
    with open(osp.join(tiny_coco, ANN)) as f:
        return json.load(f)


def write(tmp_path, data, name='bad.json'):
    path = tmp_path / name
    path.write_text(json.dumps(data))  # NaN is written as the NaN literal
    return str(path)


def edit(data, fn):
    data = copy.deepcopy(data)
    fn(data)
    return data


def first_ann(data):
    return data['annotations'][0]


def set_kpt(ann, k, values):
    ann['keypoints'][3 * k:3 * k + 3] = values


ERRORS = {
    'image without width':
    (lambda d: d['images'][0].pop('width'), r"images\[0\] \(id=\d+\) lacks "
     r"'width'"),
    'annotation without image_id':
    (lambda d: first_ann(d).pop('image_id'),
     r"annotations\[0\] \(id=\d+\) lacks 'image_id'"),
    'NaN bbox': (lambda d: first_ann(d)['bbox'].__setitem__(0, math.nan),
                 r'annotations\[0\] .* bbox = \[nan, .*allowed: 4 finite'),
    'bbox of 3 numbers': (lambda d: first_ann(d)['bbox'].pop(),
                          'bbox = .*allowed: 4 finite numbers'),
    'string in bbox': (lambda d: first_ann(d)['bbox'].__setitem__(2, '40'),
                       "bbox = .*'40'"),
    'NaN keypoint': (lambda d: set_kpt(first_ann(d), 3, [math.nan, 5, 2]),
                     r'keypoint 3 = \[nan, 5, 2\]; allowed: finite'),
    'negative labelled keypoint':
    (lambda d: set_kpt(first_ann(d), 5, [-4, 10, 2]),
     r'keypoint 5 = \[-4, 10, 2\] is labelled at a negative coordinate'),
    'visibility 3': (lambda d: set_kpt(first_ann(d), 0, [1, 1, 3]),
                     'keypoint 0 has visibility 3; allowed: 0'),
    'keypoints of 16 people parts':
    (lambda d: first_ann(d).__setitem__('keypoints',
                                        first_ann(d)['keypoints'][:48]),
     'keypoints has 48 numbers; allowed: 51 numbers'),
    'NaN area': (lambda d: first_ann(d).__setitem__('area', math.nan),
                 'area = nan; allowed: a finite number >= 0'),
    'no usable person':
    (lambda d: [a.__setitem__('keypoints', [0] * 51)
                for a in d['annotations']], 'no usable person instance'),
}


@pytest.mark.parametrize('case', ERRORS)
def test_error_names_file_entry_and_field(tmp_path, coco, case):
    fn, pattern = ERRORS[case]
    path = write(tmp_path, edit(coco, fn))
    with pytest.raises(ValueError, match=rf'^{path}: .*{pattern}'):
        check_coco_annotations(path)


def test_invalid_json(tmp_path):
    path = tmp_path / 'broken.json'
    path.write_text('{"images": [')
    with pytest.raises(ValueError, match=f'{path}: not valid JSON'):
        check_coco_annotations(str(path))


WARNINGS = {
    'annotation without keypoints':
    (lambda d: first_ann(d).pop('keypoints'), 'lack bbox or keypoints'),
    'zero-area bbox': (lambda d: first_ann(d)['bbox'].__setitem__(3, 0),
                       'have a zero-area bbox'),
    'image without people':
    (lambda d: d['images'].append(
        dict(d['images'][0], id=999, file_name='empty.jpg')),
     r'1 image\(s\) have no usable person annotation .*ids: 999\)'),
    'annotation of an unknown image':
    (lambda d: d['annotations'].append(
        dict(first_ann(d), id=555, image_id=12345)),
     'refer to an image id not in images.*ids: 555'),
}


@pytest.mark.parametrize('case', WARNINGS)
def test_warning_for_what_mmpose_skips(tmp_path, coco, case):
    fn, pattern = WARNINGS[case]
    path = write(tmp_path, edit(coco, fn))
    warning, = check_coco_annotations(path)
    assert warning.startswith(path)
    assert 'MMPose skips them' in warning
    assert re.search(pattern, warning), warning


def test_clean_file_passes(tiny_coco):
    assert check_coco_annotations(
        osp.join(tiny_coco, ANN), osp.join(tiny_coco, 'images/train')) == []


def test_mmpose_alone_keeps_a_nan_box(tmp_path, tiny_coco, coco):
    """Why the check exists: CocoDataset parses the NaN into a sample."""
    from mmpose.datasets import CocoDataset
    bad = edit(coco, lambda d: first_ann(d)['bbox'].__setitem__(0, math.nan))
    dataset = CocoDataset(
        ann_file=write(tmp_path, bad),
        data_root=tiny_coco,
        data_prefix=dict(img='images/train/'),
        pipeline=[])
    boxes = [dataset.get_data_info(i)['bbox'] for i in range(len(dataset))]
    assert any(math.isnan(float(box[0][0])) for box in boxes)


def config_on(ann_file, data_root):
    cfg = Config.fromfile(
        osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data',
                 'tiny_elhrnet_config.py'))
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = data_root
    cfg.train_dataloader.dataset.ann_file = ann_file
    return cfg


def test_training_config_is_checked_before_the_runner(tmp_path, tiny_coco,
                                                      coco):
    bad = edit(coco, lambda d: set_kpt(first_ann(d), 2, [math.inf, 0, 1]))
    cfg = config_on(write(tmp_path, bad), tiny_coco)
    with pytest.raises(ValueError, match='bad.json: annotations.*keypoint 2'):
        prepare_run(cfg, 'none', splits=('train', 'val'))


def test_wrapped_and_self_generating_datasets(tmp_path, tiny_coco, coco):
    bad = write(tmp_path, edit(coco, lambda d: first_ann(d).pop('id')))
    cfg = config_on(bad, tiny_coco)
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset', times=2, dataset=cfg.train_dataloader.dataset)
    with pytest.raises(ValueError, match="lacks 'id'"):
        check_annotation_files(cfg, splits=('train', ))
    # SyntheticCocoDataset writes its own files; MPII's format is not COCO
    cfg.train_dataloader.dataset.dataset.type = 'SyntheticCocoDataset'
    assert check_annotation_files(cfg, splits=('train', )) == []
    cfg.train_dataloader.dataset.dataset.type = 'MpiiDataset'
    assert check_annotation_files(cfg, splits=('train', )) == []
