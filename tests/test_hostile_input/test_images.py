"""Missing or unreadable images: named before training (missing files) and
by MMPose's LoadImage when a sample is loaded (unreadable content)."""
import os
import os.path as osp
import shutil

import pytest
from mmengine.registry import init_default_scope
from mmpose.datasets import CocoDataset

from elhrnet_mm.utils.annotation_check import check_coco_annotations

ANN = 'annotations/person_keypoints_train.json'


@pytest.fixture
def data(tmp_path, tiny_coco):
    """A private copy of the tiny train split (images get damaged)."""
    root = tmp_path / 'coco'
    shutil.copytree(osp.join(tiny_coco, 'annotations'), root / 'annotations')
    shutil.copytree(
        osp.join(tiny_coco, 'images', 'train'), root / 'images' / 'train')
    return root


def image_of_first_sample(dataset):
    return dataset.get_data_info(0)['img_path']


def build(root):
    init_default_scope('mmpose')
    return CocoDataset(
        ann_file=ANN,
        data_root=str(root),
        data_prefix=dict(img='images/train/'),
        pipeline=[dict(type='LoadImage')])


def test_missing_image_is_named_before_training(data):
    victim = sorted((data / 'images' / 'train').iterdir())[3]
    victim.unlink()
    with pytest.raises(ValueError, match=f'1 image.*do not exist: {victim}'):
        check_coco_annotations(
            str(data / ANN), str(data / 'images' / 'train'))


@pytest.mark.parametrize('content', [b'', b'\xff\xd8\xff' + b'\x00' * 64],
                         ids=['empty', 'not decodable'])
def test_unreadable_image_is_named_when_loaded(data, content):
    dataset = build(data)
    path = image_of_first_sample(dataset)
    with open(path, 'wb') as f:
        f.write(content)
    with pytest.raises(Exception, match=f'occurs when loading `{path}`'):
        dataset[0]


def test_image_deleted_after_the_check_is_named_when_loaded(data):
    dataset = build(data)
    path = image_of_first_sample(dataset)
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=path):
        dataset[0]
