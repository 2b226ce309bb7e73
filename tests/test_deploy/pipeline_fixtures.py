"""Test helpers for the deployed pipeline (not a test module).

:func:`write_toy_model` writes a small heatmap network as an ONNX graph
built with ``onnx.helper`` (no torch): average pooling by the output
stride, then a 1x1 convolution to K channels and a sigmoid, so the runtime
and the pipeline's file handling can be tested without exporting a real
network; :func:`toy_metadata` is the metadata of the tiny test config
(``tests/data/tiny_elhrnet_config.py``: 64x48 input, 16x12 heatmaps,
COCO's 17 keypoints).
"""
import json
import os.path as osp

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_elhrnet_config.py')
REAL_COCO = osp.join(osp.dirname(ROOT), 'shared', 'data', 'real_samples',
                     'coco')


def write_toy_model(path, batch=None, height=64, width=48, keypoints=17,
                    stride=4, seed=0):
    """An ONNX heatmap network at ``path``: (batch, 3, H, W) -> (batch, K,
    H / stride, W / stride); ``batch`` None is a dynamic batch."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 1, (keypoints, 3, 1, 1)).astype(np.float32)
    dim = batch if batch is not None else 'batch'
    graph = helper.make_graph(
        [
            helper.make_node('AveragePool', ['input'], ['pooled'],
                             kernel_shape=[stride, stride],
                             strides=[stride, stride]),
            helper.make_node('Conv', ['pooled', 'weight'], ['logits']),
            helper.make_node('Sigmoid', ['logits'], ['heatmaps']),
        ], 'toy_heatmaps',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT,
                                       [dim, 3, height, width])],
        [helper.make_tensor_value_info(
            'heatmaps', TensorProto.FLOAT,
            [dim, keypoints, height // stride, width // stride])],
        [numpy_helper.from_array(weight, 'weight')])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('',
                                                                        17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def tiny_config():
    from mmengine.config import Config
    return Config.fromfile(TINY_CONFIG)


def toy_metadata(**changes):
    """The tiny config's metadata dict, with ``changes`` applied."""
    from elhrnet_mm.deploy.deploy_metadata import deploy_metadata
    meta = deploy_metadata(tiny_config())
    meta.update(changes)
    return meta


def write_metadata(model_path, meta):
    from elhrnet_mm.deploy.pipeline import metadata_path
    path = metadata_path(str(model_path))
    with open(path, 'w') as f:
        json.dump(meta, f)
    return path


def real_coco_samples():
    """(image path, (N, 4) xyxy ground-truth boxes) of the real COCO
    photographs in ../shared/data/real_samples/coco."""
    with open(osp.join(REAL_COCO, 'test_coco.json')) as f:
        coco = json.load(f)
    samples = []
    for image in coco['images']:
        boxes = [a['bbox'] for a in coco['annotations']
                 if a['image_id'] == image['id']]
        xyxy = np.array(boxes, np.float32).reshape(-1, 4)
        xyxy[:, 2:] += xyxy[:, :2]
        samples.append((osp.join(REAL_COCO, image['file_name']), xyxy))
    return samples
