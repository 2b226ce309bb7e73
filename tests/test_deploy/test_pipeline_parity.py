"""The deployed pipeline equals MMPose's ``inference_topdown`` on real photos.

A tiny EL-HRNet (tests/data/tiny_elhrnet_config.py) is trained for a few
iterations on the synthetic data (random weights give flat heatmaps whose
maxima are ties), exported to ONNX with its metadata, and run on the real
COCO photographs of ../shared/data/real_samples with their ground-truth
boxes, in ONNX Runtime (the ONNX file) and OpenVINO (its IR), flip test off
and on: every keypoint
within 0.5 px of MMPose's, every score within 1e-3.
"""
import functools
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from pipeline_fixtures import ROOT, TINY_CONFIG, real_coco_samples

pytestmark = pytest.mark.slow

TRAIN_ITERS_EPOCHS = 4  # 12 images, batch 4: 12 iterations


@pytest.fixture(scope='module')
def trained(tiny_coco, tmp_path_factory):
    """(config path, checkpoint) of the tiny model after a short training."""
    from mmengine.config import Config
    work = tmp_path_factory.mktemp('pipeline_train')
    cfg = Config.fromfile(TINY_CONFIG)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = tiny_coco
    cfg.train_cfg = dict(by_epoch=True, max_epochs=TRAIN_ITERS_EPOCHS,
                         val_interval=TRAIN_ITERS_EPOCHS + 1)
    cfg.model.test_cfg = dict(flip_test=True, flip_mode='heatmap',
                              shift_heatmap=True)  # as MMPose's COCO configs
    cfg.default_hooks.checkpoint.interval = TRAIN_ITERS_EPOCHS
    config = str(work / 'tiny.py')
    cfg.dump(config)
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
         '--work-dir', str(work)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
        env=dict(__import__('os').environ, OMP_NUM_THREADS='1',
                 CUDA_VISIBLE_DEVICES=''))
    checkpoint = work / f'epoch_{TRAIN_ITERS_EPOCHS}.pth'
    assert out.returncode == 0 and checkpoint.is_file(), out.stdout[-3000:]
    return config, str(checkpoint)


@pytest.fixture(scope='module')
def exported(trained, tmp_path_factory):
    """The trained network as ONNX (dynamic batch) with its metadata."""
    import torch
    from mmengine.config import Config

    from elhrnet_mm.deploy.deploy_metadata import write_deploy_metadata
    from elhrnet_mm.deploy.inference_model import build_inference_model
    from elhrnet_mm.deploy.onnx_export import export_onnx
    config, checkpoint = trained
    path = str(tmp_path_factory.mktemp('pipeline_onnx') / 'tiny.onnx')
    cfg = Config.fromfile(config)
    export_onnx(build_inference_model(cfg, checkpoint), path,
                input_shape=(2, 3, 64, 48), dynamic_batch=True)
    dataset_meta = torch.load(checkpoint, map_location='cpu',
                              weights_only=False)['meta']['dataset_meta']
    write_deploy_metadata(path, cfg, dataset_meta, input_hw=(64, 48))
    return path


def model_file(onnx_path, runtime):
    """The ONNX file for ONNX Runtime; for OpenVINO its IR (``.xml``,
    converted once), which shares the ``.pose.json`` (same stem)."""
    if runtime == 'onnxruntime':
        return onnx_path
    from elhrnet_mm.deploy.openvino_runtime import export_openvino
    xml = onnx_path[:-len('.onnx')] + '.xml'
    if not osp.isfile(xml):
        export_openvino(onnx_path, xml)
    return xml


@functools.lru_cache()
def mmpose_keypoints(config, checkpoint, flip_test):
    from mmengine.config import Config
    from mmpose.apis import inference_topdown, init_model
    cfg = Config.fromfile(config)
    cfg.model.test_cfg.flip_test = flip_test
    model = init_model(cfg, checkpoint, device='cpu')
    results = []
    for image, boxes in real_coco_samples():
        samples = inference_topdown(model, image, boxes, bbox_format='xyxy')
        results.append((
            np.concatenate([s.pred_instances.keypoints for s in samples]),
            np.concatenate([s.pred_instances.keypoint_scores
                            for s in samples])))
    return results


@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino'])
@pytest.mark.parametrize('flip_test', [False, True], ids=['noflip', 'flip'])
def test_pipeline_equals_inference_topdown_on_real_photos(
        trained, exported, flip_test, runtime):
    pytest.importorskip(runtime)
    import cv2

    from elhrnet_mm.deploy.pipeline import (TopdownPosePipeline,
                                            load_metadata, metadata_path)
    meta = load_metadata(metadata_path(exported))
    assert meta['flip_test'] == dict(enabled=True, shift_heatmap=True)

    expected = mmpose_keypoints(*trained, flip_test)
    samples = real_coco_samples()
    assert len(samples) == 4 and sum(len(b) for _, b in samples) == 14
    pipeline = TopdownPosePipeline(model_file(exported, runtime), runtime,
                                   flip_test=flip_test)
    for (image, boxes), (kpts, scores) in zip(samples, expected):
        got, got_scores, used = pipeline(cv2.imread(image), boxes)
        assert got.shape == kpts.shape == (len(boxes), 17, 2)
        np.testing.assert_array_equal(used, boxes)
        # a trained model: peaked heatmaps, not flat ones
        assert (scores.max(axis=1) > 0.05).all(), scores.max(axis=1)
        error = np.abs(got - kpts).max()
        assert error < 0.5, (runtime, osp.basename(image), error)
        np.testing.assert_allclose(got_scores, scores, atol=1e-3)
