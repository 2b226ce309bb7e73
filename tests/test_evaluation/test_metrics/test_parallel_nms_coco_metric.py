"""ParallelNMSCocoMetric on synthetic predictions made from tiny_coco."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import METRICS

import elhrnet_mm  # noqa: F401
from elhrnet_mm.evaluation import ParallelNMSCocoMetric
from elhrnet_mm.utils.mmpose_models import mmpose_config_path


def coco_meta():
    cfg = Config.fromfile(mmpose_config_path('_base_/datasets/coco.py'))
    return parse_pose_metainfo(cfg.dataset_info)


def predictions(ann_file, seed=0):
    """Every person exactly (score s) plus a 2-px-jittered duplicate
    (score s - 0.01): duplicates interleave with other people's poses."""
    rng = np.random.default_rng(seed)
    anns = [a for a in json.load(open(ann_file))['annotations']
            if a['num_keypoints'] > 0]
    samples = []
    for a in anns:
        kpts = np.array(a['keypoints'], dtype=float).reshape(-1, 3)[:, :2]
        score = rng.uniform(0.3, 1.0)
        w, h = a['bbox'][2:]
        for dup, (offset, s) in enumerate([(0.0, score),
                                           (2.0, score - 0.01)]):
            samples.append(dict(
                id=a['id'] * 10 + dup, img_id=a['image_id'], category_id=1,
                pred_instances=dict(
                    keypoints=(kpts + offset)[None],
                    keypoint_scores=np.ones((1, len(kpts))),
                    bbox_scores=np.array([s])),
                gt_instances=dict(bbox_scales=np.array([[w, h]]))))
    return samples


def evaluate(ann_file, samples, **kwargs):
    metric = METRICS.build(
        dict(type='ParallelNMSCocoMetric', ann_file=ann_file, **kwargs))
    metric.dataset_meta = coco_meta()
    metric.process([], samples)
    return metric.evaluate(len(samples))


@pytest.fixture(scope='module')
def val_ann(tiny_coco):
    return osp.join(tiny_coco, 'annotations/person_keypoints_val.json')


def test_parallel_mode_removes_duplicates(val_ann):
    samples = predictions(val_ann)
    none = evaluate(val_ann, samples, nms_mode='none')['coco/AP']
    parallel = evaluate(val_ann, samples)['coco/AP']
    linear = evaluate(val_ann, samples, decay_kernel='linear')['coco/AP']
    greedy = evaluate(val_ann, samples, nms_mode='oks_nms')['coco/AP']
    soft = evaluate(val_ann, samples, nms_mode='soft_oks_nms')['coco/AP']
    # the duplicates are false positives between true ones without NMS
    assert none < 0.95
    # exact poses rank above every decayed duplicate: perfect AP again
    assert parallel == pytest.approx(1.0, abs=1e-6)
    assert linear == pytest.approx(1.0, abs=1e-6)
    assert greedy == pytest.approx(1.0, abs=1e-6)
    assert 0 < soft <= 1


def test_decayed_scores_are_written(val_ann, tmp_path):
    samples = predictions(val_ann)
    prefix = str(tmp_path / 'res')
    evaluate(val_ann, samples, outfile_prefix=prefix, nms_max_dets=1)
    results = json.load(open(prefix + '.keypoints.json'))
    images = {s['img_id'] for s in samples}
    assert len(results) == len(images)  # max one pose per image
    by_image = {}
    for s in samples:
        by_image.setdefault(s['img_id'], []).append(
            float(s['pred_instances']['bbox_scores'][0]))
    for r in results:  # the best pose keeps its score (decay 1)
        assert r['score'] == pytest.approx(max(by_image[r['image_id']]))


def test_mode_is_restored_and_arguments_checked(val_ann):
    metric = ParallelNMSCocoMetric(ann_file=val_ann)
    metric.dataset_meta = coco_meta()
    metric.process([], predictions(val_ann)[:2])
    metric.evaluate(2)
    assert metric.nms_mode == 'parallel_oks'
    with pytest.raises(ValueError, match="or 'parallel_oks'"):
        ParallelNMSCocoMetric(nms_mode='matrix')
    with pytest.raises(ValueError, match='decay_kernel'):
        ParallelNMSCocoMetric(decay_kernel='box')
    with pytest.raises(ValueError, match='decay_sigma'):
        ParallelNMSCocoMetric(decay_sigma=0)
    with pytest.raises(ValueError, match='nms_max_dets'):
        ParallelNMSCocoMetric(nms_max_dets=0)
