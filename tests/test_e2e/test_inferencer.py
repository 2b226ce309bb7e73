"""MMPose's ``MMPoseInferencer`` with this package's configs and weights."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from elhrnet_mm.zoo import shipped_configs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_elhrnet_config.py')


@pytest.mark.parametrize(
    'config', shipped_configs(), ids=lambda p: osp.basename(p)[:-3])
def test_shipped_config_has_the_keys_mmpose_inferencers_read(config):
    from mmpose.registry import DATASETS
    from mmpose.utils import register_all_modules

    import elhrnet_mm  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(config)
    assert cfg.get('data_mode') == 'topdown'
    assert DATASETS.get(cfg.get('dataset_type')) is not None, \
        f'{config}: dataset_type {cfg.get("dataset_type")!r} not registered'


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    """Random EL-HRNet weights saved like a Runner does (with dataset_meta)."""
    from mmengine.runner import set_random_seed
    from mmpose.datasets import CocoDataset
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import elhrnet_mm  # noqa: F401
    register_all_modules()
    set_random_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    meta = dict(dataset_meta=CocoDataset.METAINFO)
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return path


def test_mmposeinferencer_whole_image_matches_inference_topdown(
        tiny_coco, tiny_checkpoint, tmp_path):
    import cv2
    from mmpose.apis import MMPoseInferencer, inference_topdown, init_model

    image = sorted(glob.glob(osp.join(tiny_coco, 'images', 'val', '*')))[0]
    height, width = cv2.imread(image).shape[:2]
    inferencer = MMPoseInferencer(
        pose2d=TINY_CONFIG,
        pose2d_weights=tiny_checkpoint,
        det_model='whole_image',
        device='cpu')
    result = next(
        inferencer(
            image,
            vis_out_dir=str(tmp_path / 'vis'),
            pred_out_dir=str(tmp_path / 'pred')))

    people = result['predictions'][0]
    assert len(people) == 1  # whole_image: one box, the image
    keypoints = np.asarray(people[0]['keypoints'])
    assert keypoints.shape == (17, 2)
    np.testing.assert_allclose(people[0]['bbox'][0],
                               [0, 0, width, height])

    # the same model through MMPose's lower-level API, same whole-image box
    model = init_model(TINY_CONFIG, tiny_checkpoint, device='cpu')
    sample, = inference_topdown(model, image)
    np.testing.assert_allclose(
        keypoints, sample.pred_instances.keypoints[0], rtol=0, atol=1e-3)

    vis = cv2.imread(str(tmp_path / 'vis' / osp.basename(image)))
    assert vis is not None and vis.shape[:2] == (height, width)
    assert (tmp_path / 'pred' /
            (osp.splitext(osp.basename(image))[0] + '.json')).is_file()
