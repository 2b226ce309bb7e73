"""MMPose's ``MMPoseInferencer`` (what ``demo/inferencer_demo.py`` runs) on a
video with this package's config and checkpoint (docs/deployment.md)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_elhrnet_config.py')
FRAMES = 4


def write_video(path, images):
    import cv2
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10.,
                             (width, height))
    for image in images:
        writer.write(image)
    writer.release()
    return path


@pytest.mark.slow
def test_mmposeinferencer_runs_our_config_on_a_video(tiny_coco, tmp_path):
    import cv2
    from mmengine.runner import set_random_seed
    from mmpose.apis import MMPoseInferencer
    from mmpose.datasets import CocoDataset
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import elhrnet_mm  # noqa: F401
    register_all_modules()
    set_random_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    model.init_weights()
    checkpoint = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(),
                'meta': dict(dataset_meta=CocoDataset.METAINFO)}, checkpoint)

    frames = [cv2.imread(osp.join(tiny_coco, 'images', 'val', f'{i:08d}.jpg'))
              for i in range(1, 1 + FRAMES)]
    video = write_video(str(tmp_path / 'people.mp4'), frames)
    height, width = frames[0].shape[:2]

    inferencer = MMPoseInferencer(pose2d=TINY_CONFIG,
                                  pose2d_weights=checkpoint,
                                  det_model='whole_image', device='cpu')
    results = list(inferencer(video, vis_out_dir=str(tmp_path / 'vis'),
                              pred_out_dir=str(tmp_path / 'pred')))
    assert len(results) == FRAMES  # one result per frame
    for result in results:
        person, = result['predictions'][0]
        assert np.asarray(person['keypoints']).shape == (17, 2)
        assert len(person['keypoint_scores']) == 17
        np.testing.assert_allclose(person['bbox'][0], [0, 0, width, height])

    drawn = cv2.VideoCapture(str(tmp_path / 'vis' / 'people.mp4'))
    count = 0
    while drawn.read()[0]:
        count += 1
    drawn.release()
    assert count == FRAMES
    with open(tmp_path / 'pred' / 'people.json') as f:
        saved = json.load(f)
    assert [frame['frame_id'] for frame in saved] == list(range(FRAMES))
