"""The deployed pipeline's pieces against MMPose's, its files and its errors.

End-to-end parity with ``inference_topdown`` on real photographs:
test_pipeline_parity.py.
"""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from elhrnet_mm.deploy import pipeline as pl
from pipeline_fixtures import (ROOT, tiny_config, toy_metadata,
                               write_metadata, write_toy_model)

# ---------------------------------------------------------------- the maths


def _peaked_heatmaps(rng, k=17, h=16, w=12, sigma=2.):
    """Gaussian blobs at random sub-pixel centres plus a little noise."""
    ys, xs = np.mgrid[0:h, 0:w]
    centres = rng.uniform([1, 1], [w - 2, h - 2], size=(k, 2))
    heatmaps = np.exp(-((xs - centres[:, 0, None, None])**2 +
                        (ys - centres[:, 1, None, None])**2) / (2 * sigma**2))
    heatmaps += rng.normal(0, 0.01, heatmaps.shape)
    heatmaps[0] = -0.1  # a keypoint without a positive response
    return heatmaps.astype(np.float32)


@pytest.mark.parametrize('codec', [
    dict(type='MSRAHeatmap', sigma=2),
    dict(type='MSRAHeatmap', sigma=2, unbiased=True),
    dict(type='MSRAHeatmap', sigma=3, unbiased=True, blur_kernel_size=17),
    dict(type='UDPHeatmap', sigma=2),
], ids=['msra', 'msra-dark', 'msra-dark-k17', 'udp'])
def test_decode_equals_mmpose_codec(codec):
    from mmpose.registry import KEYPOINT_CODECS
    from mmpose.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    codec = dict(codec, input_size=(48, 64), heatmap_size=(12, 16))
    mm_codec = KEYPOINT_CODECS.build(codec)
    facts = dict(codec, input_size=[48, 64], heatmap_size=[12, 16],
                 unbiased=codec.get('unbiased', False),
                 blur_kernel_size=codec.get('blur_kernel_size', 11))
    rng = np.random.default_rng(0)
    for _ in range(5):
        heatmaps = _peaked_heatmaps(rng)
        expected_kpts, expected_scores = mm_codec.decode(heatmaps.copy())
        kpts, scores = pl.decode_heatmaps(heatmaps, facts)
        np.testing.assert_allclose(kpts, expected_kpts[0], atol=1e-4)
        np.testing.assert_allclose(scores, expected_scores[0], atol=1e-6)
        assert scores[0] < 0
        if codec['type'] == 'MSRAHeatmap':  # (UDP refines it anyway)
            assert (kpts[0] < 0).all()  # no maximum: -1 * scale
        cells = kpts[1:] / 4  # heatmap cells (input / heatmap = 4)
        assert np.mean(cells != np.round(cells)) > 0.5  # refined off-grid


@pytest.mark.parametrize('shift', [False, True])
def test_flip_heatmaps_equals_mmpose(shift):
    import torch
    from mmpose.models.utils.tta import flip_heatmaps
    heatmaps = np.random.default_rng(1).random((2, 17, 16, 12), np.float32)
    indices = tiny_config_flip_indices()
    expected = flip_heatmaps(torch.from_numpy(heatmaps), flip_indices=indices,
                             flip_mode='heatmap', shift_heatmap=shift).numpy()
    np.testing.assert_array_equal(
        pl.flip_heatmaps(heatmaps, indices, shift), expected)


def tiny_config_flip_indices():
    return toy_metadata()['flip_indices']


@pytest.mark.parametrize('use_udp', [False, True])
def test_crop_equals_mmpose_topdown_affine(use_udp):
    from mmpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (120, 90, 3), np.uint8)
    boxes = np.array([[10.3, 5.2, 60.7, 110.1], [-20., 30., 40., 50.],
                      [0, 0, 90, 120]])
    meta = toy_metadata(use_udp=use_udp)
    pipeline = object.__new__(pl.TopdownPosePipeline)
    pipeline.meta = meta
    crops, centers, scales = pipeline.preprocess(image, boxes)
    for i, box in enumerate(boxes):
        results = GetBBoxCenterScale(padding=1.25)(dict(
            img=image.copy(), bbox=box[None].astype(np.float32)))
        results = TopdownAffine(input_size=(48, 64), use_udp=use_udp)(results)
        np.testing.assert_allclose(centers[i], results['bbox_center'][0],
                                   rtol=1e-6)
        np.testing.assert_allclose(scales[i], results['bbox_scale'][0],
                                   rtol=1e-6)
        expected = pl.normalize(results['img'], meta['mean'], meta['std'],
                                True)
        # same warp up to float32/float64 matrix rounding: <= 1 grey level
        assert np.abs(crops[i] - expected).max() <= 1.01 / 57.12


def test_normalize_equals_mmpose_data_preprocessor():
    import torch
    from mmpose.models.data_preprocessors import PoseDataPreprocessor
    crop = np.random.default_rng(3).integers(0, 256, (64, 48, 3), np.uint8)
    meta = toy_metadata()
    pre = PoseDataPreprocessor(mean=meta['mean'], std=meta['std'],
                               bgr_to_rgb=True)
    from mmpose.structures import PoseDataSample
    expected = pre(dict(inputs=[torch.from_numpy(crop).permute(2, 0, 1)],
                        data_samples=[PoseDataSample()]),
                   False)['inputs'][0].numpy()
    np.testing.assert_allclose(
        pl.normalize(crop, meta['mean'], meta['std'], True), expected,
        atol=1e-5)


# ------------------------------------------------------------ the metadata


def test_metadata_of_the_tiny_config():
    meta = toy_metadata()
    assert meta['input_size'] == [48, 64]
    assert meta['codec'] == dict(type='MSRAHeatmap', input_size=[48, 64],
                                 heatmap_size=[12, 16], sigma=2.0,
                                 blur_kernel_size=11, unbiased=False)
    assert meta['bbox_padding'] == 1.25 and meta['use_udp'] is False
    assert meta['bgr_to_rgb'] is True
    assert meta['mean'] == [123.675, 116.28, 103.53]
    assert meta['num_keypoints'] == 17
    assert meta['keypoint_names'][:3] == ['nose', 'left_eye', 'right_eye']
    assert meta['flip_indices'][:5] == [0, 2, 1, 4, 3]
    assert len(meta['skeleton']) == 19 == len(meta['skeleton_colors'])
    assert len(meta['keypoint_colors']) == 17
    assert meta['flip_test'] == dict(enabled=False, shift_heatmap=False)


def test_metadata_reads_the_config_fields():
    cfg = tiny_config()
    cfg.model.head.decoder = dict(type='UDPHeatmap', input_size=(48, 64),
                                  heatmap_size=(12, 16), sigma=2)
    cfg.model.test_cfg = dict(flip_test=True, shift_heatmap=True)
    cfg.test_dataloader.dataset.pipeline[1] = dict(
        type='GetBBoxCenterScale', padding=1.4)
    cfg.test_dataloader.dataset.pipeline[2] = dict(
        type='TopdownAffine', input_size=(48, 64), use_udp=True)
    from elhrnet_mm.deploy.deploy_metadata import deploy_metadata
    meta = deploy_metadata(cfg)
    assert meta['codec']['type'] == 'UDPHeatmap'
    assert meta['use_udp'] is True and meta['bbox_padding'] == 1.4
    assert meta['flip_test'] == dict(enabled=True, shift_heatmap=True)


@pytest.mark.slow
def test_every_shipped_config_has_metadata_the_pipeline_serves():
    from mmengine.config import Config

    from elhrnet_mm.deploy.deploy_metadata import deploy_metadata
    from elhrnet_mm.zoo import shipped_configs
    configs = shipped_configs()
    assert len(configs) >= 30
    for config in configs:
        cfg = Config.fromfile(config)
        meta = deploy_metadata(cfg)
        assert meta['num_keypoints'] == cfg.model.head.out_channels, config
        assert meta['num_keypoints'] in (14, 16, 17), config
        assert meta['codec']['type'] in pl.CODECS, config
        assert meta['flip_test']['enabled'], config


def test_metadata_rejects_what_the_pipeline_cannot_serve():
    from elhrnet_mm.deploy.deploy_metadata import deploy_metadata
    cfg = tiny_config()
    with pytest.raises(ValueError, match=r'export input .*\(32, 32\).*codec'):
        deploy_metadata(cfg, input_hw=(32, 32))
    cfg.model.head.decoder = dict(type='SimCCLabel', input_size=(48, 64))
    with pytest.raises(ValueError, match="SimCCLabel.*MSRAHeatmap"):
        deploy_metadata(cfg)


def test_write_deploy_metadata_round_trip(tmp_path):
    from elhrnet_mm.deploy.deploy_metadata import write_deploy_metadata
    model = write_toy_model(tmp_path / 'toy.onnx')
    path = write_deploy_metadata(model, tiny_config(), input_hw=(64, 48))
    assert path == str(tmp_path / 'toy.pose.json')
    assert pl.load_metadata(path) == toy_metadata()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'toy.onnx', 'toy.pose.json']  # no temporary file left


# ------------------------------------------------------- files and errors


@pytest.fixture
def toy_model(tmp_path):
    path = write_toy_model(tmp_path / 'toy.onnx')
    write_metadata(path, toy_metadata())
    return path


def test_model_without_metadata(tmp_path):
    path = write_toy_model(tmp_path / 'toy.onnx')
    with pytest.raises(pl.MetadataError,
                       match=r'metadata file not found: .*toy\.pose\.json'):
        pl.TopdownPosePipeline(path)


@pytest.mark.parametrize('change, message', [
    (dict(input_size=[48, 64, 3]), r"'input_size' must be a list of 2"),
    (dict(codec=dict(type='SimCCLabel')), r"'codec.type' must be one of"),
    (dict(flip_indices=[0, 1]), r"'flip_indices' must be a permutation"),
    (dict(mean=[0, 0]), r"'mean' must be a list of 3"),
    (dict(version=99), r"'version' is 99"),
])
def test_malformed_metadata(tmp_path, change, message):
    path = write_toy_model(tmp_path / 'toy.onnx')
    meta_file = write_metadata(path, toy_metadata(**change))
    with pytest.raises(pl.MetadataError, match=message) as error:
        pl.TopdownPosePipeline(path)
    assert meta_file in str(error.value)


def test_metadata_that_is_not_json(tmp_path):
    path = write_toy_model(tmp_path / 'toy.onnx')
    with open(pl.metadata_path(path), 'w') as f:
        f.write('{"version": 1,')
    with pytest.raises(pl.MetadataError, match='not a readable JSON file'):
        pl.TopdownPosePipeline(path)


def test_metadata_disagreeing_with_the_model_input(tmp_path):
    path = write_toy_model(tmp_path / 'toy.onnx', height=96, width=64)
    write_metadata(path, toy_metadata())
    with pytest.raises(pl.MetadataError,
                       match=r"'input_size' \(w, h\) = \[48, 64\] disagrees "
                       r'with the input shape \(None, 3, 96, 64\)'):
        pl.TopdownPosePipeline(path)


def test_missing_runtime_names_the_extra(toy_model, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):
        if name == 'openvino':
            raise ImportError('No module named openvino')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_openvino)
    with pytest.raises(pl.MissingRuntimeError,
                       match=r"'openvino' is not installed.*"
                       r'elhrnet_mm\[deploy\]'):
        pl.TopdownPosePipeline(toy_model, runtime='openvino')
    with pytest.raises(ValueError, match=r"runtime 'tensorrt'; allowed"):
        pl.TopdownPosePipeline(toy_model, runtime='tensorrt')


def test_boxes(toy_model):
    pipeline = pl.TopdownPosePipeline(toy_model)
    image = np.zeros((100, 80, 3), np.uint8)
    with pytest.raises(pl.BoxError, match=r'box 1 .*lies outside the image '
                       r'\(width 80, height 100\)'):
        pipeline(image, [[0, 0, 10, 10], [85, 10, 95, 20]])
    with pytest.raises(pl.BoxError, match=r'expected \(N, 4\)'):
        pipeline(image, [[0, 0, 10]])
    with pytest.raises(pl.BoxError, match=r'expected \(N, 4\)'):
        pipeline(image, [[0, 0, 10, 10], [0, 0, 10, 10, 0.5]])
    with pytest.raises(pl.BoxError, match='x1 <= x2'):
        pipeline(image, [[10, 10, 5, 20]])
    with pytest.raises(pl.BoxError, match='non-finite'):
        pipeline(image, [[0, np.nan, 5, 20]])
    with pytest.warns(UserWarning, match=r'box 0 .*zero area; skipped'):
        keypoints, scores, used = pipeline(
            image, [[5, 5, 5, 40, 0.5], [0, 0, 40, 50, 0.9]])
    assert keypoints.shape == (1, 17, 2) and scores.shape == (1, 17)
    np.testing.assert_array_equal(used, [[0, 0, 40, 50]])
    keypoints, scores, used = pipeline(image, np.zeros((0, 4)))
    assert keypoints.shape == (0, 17, 2) and used.shape == (0, 4)
    with pytest.raises(ValueError, match=r'BGR \(H, W, 3\) uint8'):
        pipeline(image[..., 0])


@pytest.mark.parametrize('batch', [None, 1, 2])
@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino'])
def test_batching_and_flip_are_per_person(tmp_path, batch, runtime):
    """Dynamic and fixed batches (padded) give each person the keypoints it
    gets alone; the flip test changes them; whole image = its box."""
    pytest.importorskip(runtime)
    path = write_toy_model(tmp_path / 'toy.onnx', batch=batch)
    write_metadata(path, toy_metadata())
    image = np.random.default_rng(4).integers(0, 256, (100, 80, 3), np.uint8)
    boxes = np.array([[0, 0, 40, 50], [20, 30, 80, 100], [5, 5, 60, 70]])
    for flip in (False, True):
        pipeline = pl.TopdownPosePipeline(path, runtime, flip_test=flip)
        keypoints, scores, _ = pipeline(image, boxes)
        for i, box in enumerate(boxes):
            alone, alone_scores, _ = pipeline(image, box[None])
            np.testing.assert_allclose(keypoints[i], alone[0], atol=1e-3)
            np.testing.assert_allclose(scores[i], alone_scores[0], atol=1e-5)
        whole, _, used = pipeline(image)
        np.testing.assert_array_equal(used, [[0, 0, 80, 100]])
        np.testing.assert_allclose(
            whole, pipeline(image, [[0, 0, 80, 100]])[0], atol=1e-4)
        if flip:
            assert np.abs(keypoints - unflipped).max() > 0.1
        unflipped = keypoints


def test_pipeline_latency(toy_model):
    pipeline = pl.TopdownPosePipeline(toy_model)
    image = np.zeros((100, 80, 3), np.uint8)
    times = pl.pipeline_latency_ms(pipeline, image, [[0, 0, 40, 50],
                                                     [10, 10, 70, 90]],
                                   runs=3, warmup=1)
    assert times['people'] == 2
    assert times['total'] > 0 and all(times[k] > 0 for k in
                                      ('preprocess', 'model', 'decode'))
    assert times['per_person'] == pytest.approx(times['total'] / 2)
    with pytest.raises(ValueError, match='runs must be >= 1'):
        pl.pipeline_latency_ms(pipeline, image, runs=0)


BLOCKED_RUN = textwrap.dedent('''
    import importlib.abc, importlib.util, json, sys
    BLOCKED = ('torch', 'mmcv', 'mmengine', 'mmpose', 'mmdet', 'elhrnet_mm')

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in BLOCKED:
                raise ImportError(f'blocked import of {name}')

    sys.meta_path.insert(0, Block())
    spec = importlib.util.spec_from_file_location('pipeline', sys.argv[1])
    pipeline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pipeline)
    import numpy as np
    model = pipeline.TopdownPosePipeline(sys.argv[2], sys.argv[3],
                                         flip_test=True)
    image = np.full((90, 70, 3), 127, np.uint8)
    keypoints, scores, _ = model(image, [[0, 0, 50, 60]])
    loaded = sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED)
    print(json.dumps(dict(shape=list(keypoints.shape), loaded=loaded)))
''')


@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino'])
def test_pipeline_runs_without_the_training_stack(toy_model, runtime):
    """pipeline.py, loaded alone in a process where torch, mmcv, mmengine,
    mmpose, mmdet (and the rest of elhrnet_mm) cannot be imported."""
    pytest.importorskip(runtime)
    out = subprocess.run(
        [sys.executable, '-c', BLOCKED_RUN, pl.__file__, toy_model, runtime],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == dict(shape=[1, 17, 2], loaded=[])

