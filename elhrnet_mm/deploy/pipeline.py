"""Top-down pose inference from an exported model, without the training stack.

Needs only numpy, OpenCV and a runtime (ONNX Runtime, or OpenVINO): no torch,
mmcv, mmengine or mmpose. This file imports nothing of the package either,
so it also works copied alone onto a device (``import elhrnet_mm.deploy.
pipeline`` goes through ``elhrnet_mm/__init__.py``, which registers the
models and so needs torch; a copied ``pipeline.py`` does not).

image + person boxes (xyxy; none means the whole image)
 -> MMPose's ``GetBBoxCenterScale`` (padding) + ``TopdownAffine`` (aspect
    ratio fixed to the input size, plain or UDP warp, bilinear)
 -> the data preprocessor's normalisation (BGR to RGB, mean/std)
 -> the exported network (``(N, 3, H, W) -> (N, K, h, w)`` heatmaps)
 -> optional flip test (``flip_heatmaps``: channels swapped by the flip
    indices, mirrored, optionally shifted by one pixel; averaged)
 -> the codec's decoding (``MSRAHeatmap``: maximum + quarter-pixel shift or
    DARK; ``UDPHeatmap`` with gaussian heatmaps: DARK-UDP)
 -> keypoints in image coordinates (``TopdownPoseEstimator.
    add_pred_to_datasample``) and their heatmap scores.

The maths is MMPose 1.3's (``mmpose/structures/bbox/transforms.py``,
``mmpose/codecs/{msra_heatmap,udp_heatmap}.py``,
``mmpose/codecs/utils/{post_processing,refinement}.py``,
``mmpose/models/utils/tta.py``), re-written for numpy; the parity tests
compare it with ``mmpose.apis.inference_topdown``.

Everything the pipeline needs from the config lives in a JSON file beside
the model (:func:`metadata_path`, written at export time by
:func:`elhrnet_mm.deploy.deploy_metadata.write_deploy_metadata`), so the
runtime never reads a Python config.
"""
import json
import math
import os.path as osp
import time
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: Version of the metadata file format.
METADATA_VERSION = 1
#: The metadata file of ``model.onnx`` / ``model.xml`` is ``model.pose.json``.
METADATA_SUFFIX = '.pose.json'
#: Codecs the pipeline decodes.
CODECS = ('MSRAHeatmap', 'UDPHeatmap')
#: Runtimes and the package each needs.
RUNTIMES = {'onnxruntime': 'onnxruntime', 'openvino': 'openvino'}
#: How to install a runtime.
RUNTIME_EXTRAS = {
    'onnxruntime': 'pip install "elhrnet_mm[deploy]" (or: pip install '
    'onnxruntime)',
    'openvino': 'pip install "elhrnet_mm[deploy]" (or: pip install '
    'openvino)',
}


class MetadataError(ValueError):
    """The metadata file is missing, malformed, or disagrees with the model.
    """


class BoxError(ValueError):
    """A person box is malformed or lies outside the image."""


class MissingRuntimeError(ImportError):
    """The runtime package is not installed."""


# --------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------
def metadata_path(model_path: str) -> str:
    """The metadata file of a model file: ``x.onnx`` -> ``x.pose.json``
    (the same for an OpenVINO ``x.xml``)."""
    return osp.splitext(model_path)[0] + METADATA_SUFFIX


def _field(meta: dict, name: str, path: str):
    if name not in meta:
        raise MetadataError(f'{path}: field {name!r} is missing')
    return meta[name]


def _number_list(meta: dict, name: str, path: str, length: int,
                 kind=float, positive: bool = False) -> list:
    value = _field(meta, name, path)
    ok = (isinstance(value, list) and len(value) == length and all(
        isinstance(v, (int, float)) and not isinstance(v, bool)
        and math.isfinite(v) and (not positive or v > 0) for v in value))
    if ok and kind is int:
        ok = all(isinstance(v, int) for v in value)
    if not ok:
        raise MetadataError(
            f'{path}: field {name!r} must be a list of {length} '
            f'{"positive " if positive else ""}{kind.__name__}s, got '
            f'{value!r}')
    return [kind(v) for v in value]


def _bool(meta: dict, name: str, path: str) -> bool:
    value = _field(meta, name, path)
    if not isinstance(value, bool):
        raise MetadataError(
            f'{path}: field {name!r} must be true or false, got {value!r}')
    return value


def validate_metadata(meta: dict, path: str = '<metadata>') -> dict:
    """Check every field the pipeline reads; returns ``meta``.

    Raises:
        MetadataError: naming ``path``, the field and its allowed values.
    """
    if not isinstance(meta, dict):
        raise MetadataError(f'{path}: expected a JSON object, got '
                            f'{type(meta).__name__}')
    version = _field(meta, 'version', path)
    if version != METADATA_VERSION:
        raise MetadataError(f'{path}: field \'version\' is {version!r}; '
                            f'this pipeline reads version {METADATA_VERSION}')
    _number_list(meta, 'input_size', path, 2, int, positive=True)
    _number_list(meta, 'mean', path, 3)
    _number_list(meta, 'std', path, 3, positive=True)
    _bool(meta, 'bgr_to_rgb', path)
    padding = _field(meta, 'bbox_padding', path)
    if not isinstance(padding, (int, float)) or isinstance(
            padding, bool) or not padding > 0:
        raise MetadataError(f'{path}: field \'bbox_padding\' must be a '
                            f'positive number, got {padding!r}')
    _bool(meta, 'use_udp', path)
    codec = _field(meta, 'codec', path)
    if not isinstance(codec, dict) or codec.get('type') not in CODECS:
        raise MetadataError(
            f'{path}: field \'codec.type\' must be one of {list(CODECS)}, '
            f'got {codec.get("type") if isinstance(codec, dict) else codec!r}'
        )
    cpath = f'{path}: codec'
    if _number_list(codec, 'input_size', cpath, 2, int,
                    positive=True) != meta['input_size']:
        raise MetadataError(
            f'{path}: field \'codec.input_size\' {codec["input_size"]} '
            f'differs from \'input_size\' {meta["input_size"]}')
    _number_list(codec, 'heatmap_size', cpath, 2, int, positive=True)
    kernel = _field(codec, 'blur_kernel_size', cpath)
    if not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
        raise MetadataError(f'{path}: field \'codec.blur_kernel_size\' must '
                            f'be an odd positive int, got {kernel!r}')
    if codec['type'] == 'MSRAHeatmap':
        _bool(codec, 'unbiased', cpath)
    num_keypoints = _field(meta, 'num_keypoints', path)
    if not isinstance(num_keypoints, int) or num_keypoints < 1:
        raise MetadataError(f'{path}: field \'num_keypoints\' must be a '
                            f'positive int, got {num_keypoints!r}')
    flip = _field(meta, 'flip_indices', path)
    if (not isinstance(flip, list)
            or sorted(flip) != list(range(num_keypoints))):
        raise MetadataError(
            f'{path}: field \'flip_indices\' must be a permutation of '
            f'0..{num_keypoints - 1}, got {flip!r}')
    flip_test = _field(meta, 'flip_test', path)
    if not isinstance(flip_test, dict):
        raise MetadataError(f'{path}: field \'flip_test\' must be an object '
                            f'with enabled, shift_heatmap, got {flip_test!r}')
    _bool(flip_test, 'enabled', f'{path}: flip_test')
    _bool(flip_test, 'shift_heatmap', f'{path}: flip_test')
    names = meta.get('keypoint_names', [])
    if not isinstance(names, list) or len(names) != num_keypoints:
        raise MetadataError(f'{path}: field \'keypoint_names\' must list '
                            f'{num_keypoints} names, got {names!r}')
    skeleton = meta.get('skeleton', [])
    if not isinstance(skeleton, list) or not all(
            isinstance(link, list) and len(link) == 2 and all(
                isinstance(i, int) and 0 <= i < num_keypoints for i in link)
            for link in skeleton):
        raise MetadataError(
            f'{path}: field \'skeleton\' must be a list of [i, j] keypoint '
            f'index pairs in 0..{num_keypoints - 1}, got {skeleton!r}')
    for name, count in (('keypoint_colors', num_keypoints),
                        ('skeleton_colors', len(skeleton))):
        colors = meta.get(name, [])
        if colors and (len(colors) != count or not all(
                isinstance(c, list) and len(c) == 3 for c in colors)):
            raise MetadataError(f'{path}: field {name!r} must list {count} '
                                f'[r, g, b] colours, got {colors!r}')
    return meta


def load_metadata(path: str) -> dict:
    """Read and validate a metadata file (:func:`validate_metadata`)."""
    if not osp.isfile(path):
        raise MetadataError(
            f'metadata file not found: {path} (the exporter writes it '
            f'beside the model file as <model>{METADATA_SUFFIX}; re-export '
            'the model, or pass the metadata file)')
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as error:
        raise MetadataError(f'{path}: not a readable JSON file '
                            f'({error})') from error
    return validate_metadata(meta, path)


# --------------------------------------------------------------------------
# Pre-processing: MMPose's GetBBoxCenterScale + TopdownAffine
# --------------------------------------------------------------------------
def bbox_xyxy2cs(bbox: np.ndarray,
                 padding: float = 1.) -> Tuple[np.ndarray, np.ndarray]:
    """Center (x, y) and scale (w, h) * ``padding`` of xyxy boxes
    (``(4,)`` or ``(n, 4)``)."""
    scale = (bbox[..., 2:] - bbox[..., :2]) * padding
    center = (bbox[..., 2:] + bbox[..., :2]) * 0.5
    return center, scale


def fix_aspect_ratio(bbox_scale: np.ndarray,
                     aspect_ratio: float) -> np.ndarray:
    """Enlarge (w, h) scales to the ``w / h`` aspect ratio."""
    w, h = bbox_scale[..., :1], bbox_scale[..., 1:]
    return np.where(w > h * aspect_ratio,
                    np.concatenate([w, w / aspect_ratio], axis=-1),
                    np.concatenate([h * aspect_ratio, h], axis=-1))


def _third_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    direction = a - b
    return b + np.r_[-direction[1], direction[0]]


def get_warp_matrix(center: np.ndarray, scale: np.ndarray,
                    output_size: Sequence[int]) -> np.ndarray:
    """2x3 affine matrix mapping the box (center, scale) onto an image of
    ``output_size`` (w, h) (no rotation, no shift)."""
    dst_w, dst_h = output_size
    src = np.zeros((3, 2), dtype=np.float32)
    src[0] = center
    src[1] = center + np.array([scale[0] * -0.5, 0.])
    src[2] = _third_point(src[0], src[1])
    dst = np.zeros((3, 2), dtype=np.float32)
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5]) + np.array(
        [dst_w * -0.5, 0.])
    dst[2] = _third_point(dst[0], dst[1])
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def get_udp_warp_matrix(center: np.ndarray, scale: np.ndarray,
                        output_size: Sequence[int]) -> np.ndarray:
    """UDP's unbiased 2x3 affine matrix (no rotation), as MMPose's
    ``get_udp_warp_matrix``."""
    warp = np.zeros((2, 3), dtype=np.float32)
    scale_x = (output_size[0] - 1) / scale[0]
    scale_y = (output_size[1] - 1) / scale[1]
    warp[0, 0] = scale_x
    warp[0, 2] = scale_x * (-center[0] + 0.5 * scale[0])
    warp[1, 1] = scale_y
    warp[1, 2] = scale_y * (-center[1] + 0.5 * scale[1])
    return warp


def normalize(crop: np.ndarray, mean: Sequence[float], std: Sequence[float],
              bgr_to_rgb: bool) -> np.ndarray:
    """A BGR ``(H, W, 3)`` uint8 crop as a normalised ``(3, H, W)`` float32
    array, as MMPose's ``PoseDataPreprocessor``."""
    if bgr_to_rgb:
        crop = crop[..., ::-1]
    chw = crop.transpose(2, 0, 1).astype(np.float32)
    mean = np.asarray(mean, np.float32).reshape(3, 1, 1)
    std = np.asarray(std, np.float32).reshape(3, 1, 1)
    return (chw - mean) / std


# --------------------------------------------------------------------------
# Decoding: MMPose's codecs
# --------------------------------------------------------------------------
def get_heatmap_maximum(heatmaps: np.ndarray
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """(x, y) of each ``(K, H, W)`` heatmap's maximum (-1 where it is <= 0)
    and the maximum."""
    K, H, W = heatmaps.shape
    flat = heatmaps.reshape(K, -1)
    y_locs, x_locs = np.unravel_index(np.argmax(flat, axis=1), shape=(H, W))
    locs = np.stack((x_locs, y_locs), axis=-1).astype(np.float32)
    vals = np.amax(flat, axis=1)
    locs[vals <= 0.] = -1
    return locs, vals


def refine_keypoints(keypoints: np.ndarray,
                     heatmaps: np.ndarray) -> np.ndarray:
    """Move each ``(K, 2)`` maximum a quarter pixel towards the higher
    neighbour (in place)."""
    _, H, W = heatmaps.shape
    for k in range(keypoints.shape[0]):
        x, y = keypoints[k, :2].astype(int)
        dx = (heatmaps[k, y, x + 1] - heatmaps[k, y, x - 1]
              if 1 < x < W - 1 and 0 < y < H else 0.)
        dy = (heatmaps[k, y + 1, x] - heatmaps[k, y - 1, x]
              if 1 < y < H - 1 and 0 < x < W else 0.)
        keypoints[k] += np.sign([dx, dy], dtype=np.float32) * 0.25
    return keypoints


def gaussian_blur(heatmaps: np.ndarray, kernel: int) -> np.ndarray:
    """Blur each heatmap (zero border) keeping its maximum (in place)."""
    border = (kernel - 1) // 2
    K, H, W = heatmaps.shape
    for k in range(K):
        origin_max = np.max(heatmaps[k])
        dr = np.zeros((H + 2 * border, W + 2 * border), dtype=np.float32)
        dr[border:-border, border:-border] = heatmaps[k].copy()
        dr = cv2.GaussianBlur(dr, (kernel, kernel), 0)
        heatmaps[k] = dr[border:-border, border:-border].copy()
        heatmaps[k] *= origin_max / np.max(heatmaps[k])
    return heatmaps


def refine_keypoints_dark(keypoints: np.ndarray, heatmaps: np.ndarray,
                          blur_kernel_size: int) -> np.ndarray:
    """DARK refinement (a Newton step on the blurred log-heatmap) of
    ``(K, 2)`` maxima (in place)."""
    K, H, W = heatmaps.shape
    heatmaps = gaussian_blur(heatmaps, blur_kernel_size)
    np.maximum(heatmaps, 1e-10, heatmaps)
    np.log(heatmaps, heatmaps)
    for k in range(K):
        x, y = keypoints[k, :2].astype(int)
        if 1 < x < W - 2 and 1 < y < H - 2:
            hm = heatmaps[k]
            dx = 0.5 * (hm[y, x + 1] - hm[y, x - 1])
            dy = 0.5 * (hm[y + 1, x] - hm[y - 1, x])
            dxx = 0.25 * (hm[y, x + 2] - 2 * hm[y, x] + hm[y, x - 2])
            dxy = 0.25 * (hm[y + 1, x + 1] - hm[y - 1, x + 1] -
                          hm[y + 1, x - 1] + hm[y - 1, x - 1])
            dyy = 0.25 * (hm[y + 2, x] - 2 * hm[y, x] + hm[y - 2, x])
            if dxx * dyy - dxy**2 != 0:
                hessian = np.array([[dxx, dxy], [dxy, dyy]])
                offset = -np.linalg.inv(hessian) @ np.array([[dx], [dy]])
                keypoints[k, :2] += offset[:, 0]
    return keypoints


def refine_keypoints_dark_udp(keypoints: np.ndarray, heatmaps: np.ndarray,
                              blur_kernel_size: int) -> np.ndarray:
    """DARK-UDP refinement of ``(K, 2)`` maxima (in place)."""
    K, H, W = heatmaps.shape
    heatmaps = gaussian_blur(heatmaps, blur_kernel_size)
    np.clip(heatmaps, 1e-3, 50., heatmaps)
    np.log(heatmaps, heatmaps)
    pad = np.pad(heatmaps, ((0, 0), (1, 1), (1, 1)), mode='edge').flatten()
    index = keypoints[:, 0] + 1 + (keypoints[:, 1] + 1) * (W + 2)
    index += (W + 2) * (H + 2) * np.arange(0, K)
    index = index.astype(int).reshape(-1, 1)
    i_ = pad[index]
    ix1 = pad[index + 1]
    iy1 = pad[index + W + 2]
    ix1y1 = pad[index + W + 3]
    ix1_y1_ = pad[index - W - 3]
    ix1_ = pad[index - 1]
    iy1_ = pad[index - 2 - W]
    dx = 0.5 * (ix1 - ix1_)
    dy = 0.5 * (iy1 - iy1_)
    derivative = np.concatenate([dx, dy], axis=1).reshape(K, 2, 1)
    dxx = ix1 - 2 * i_ + ix1_
    dyy = iy1 - 2 * i_ + iy1_
    dxy = 0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)
    hessian = np.concatenate([dxx, dxy, dxy, dyy], axis=1).reshape(K, 2, 2)
    hessian = np.linalg.inv(hessian + np.finfo(np.float32).eps * np.eye(2))
    keypoints -= np.einsum('imn,ink->imk', hessian, derivative).squeeze(-1)
    return keypoints


def decode_heatmaps(heatmaps: np.ndarray,
                    codec: dict) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints ``(K, 2)`` in input-image (crop) pixels and scores ``(K,)``
    of one ``(K, h, w)`` heatmap stack, as the codec's ``decode``."""
    heatmaps = np.array(heatmaps, dtype=np.float32)  # a copy: refined in place
    keypoints, scores = get_heatmap_maximum(heatmaps)
    input_size = np.array(codec['input_size'], dtype=np.float32)
    w, h = codec['heatmap_size']
    if codec['type'] == 'MSRAHeatmap':
        if codec['unbiased']:
            keypoints = refine_keypoints_dark(keypoints, heatmaps,
                                              codec['blur_kernel_size'])
        else:
            keypoints = refine_keypoints(keypoints, heatmaps)
        scale_factor = (input_size / np.array([w, h])).astype(np.float32)
        return keypoints * scale_factor, scores
    if codec['type'] == 'UDPHeatmap':
        keypoints = refine_keypoints_dark_udp(keypoints, heatmaps,
                                              codec['blur_kernel_size'])
        return keypoints / [w - 1, h - 1] * input_size, scores
    raise MetadataError(f'codec type {codec["type"]!r}; allowed: '
                        f'{list(CODECS)}')


def flip_heatmaps(heatmaps: np.ndarray, flip_indices: Sequence[int],
                  shift_heatmap: bool) -> np.ndarray:
    """Heatmaps ``(N, K, h, w)`` of horizontally flipped inputs, brought back
    to the unflipped frame (MMPose's ``flip_heatmaps``, heatmap mode)."""
    heatmaps = heatmaps[:, list(flip_indices)][..., ::-1]
    if shift_heatmap:
        heatmaps = heatmaps.copy()
        heatmaps[..., 1:] = heatmaps[..., :-1].copy()
    return heatmaps


# --------------------------------------------------------------------------
# Runtimes
# --------------------------------------------------------------------------
def _import_runtime(runtime: str):
    if runtime not in RUNTIMES:
        raise ValueError(f'runtime {runtime!r}; allowed: {sorted(RUNTIMES)}')
    try:
        return __import__(RUNTIMES[runtime])
    except ImportError as error:
        raise MissingRuntimeError(
            f'the runtime package {RUNTIMES[runtime]!r} is not installed '
            f'({error}); install it with: {RUNTIME_EXTRAS[runtime]}'
        ) from error


class OnnxRuntimeModel:
    """An ONNX file in ONNX Runtime (CPU): ``(N, 3, H, W)`` float32 ->
    heatmaps."""

    def __init__(self, path: str, threads: Optional[int] = None):
        ort = _import_runtime('onnxruntime')
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            path, options, providers=['CPUExecutionProvider'])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        #: (N, 3, H, W); N is None for a dynamic batch
        self.input_shape = tuple(d if isinstance(d, int) else None
                                 for d in inp.shape)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class OpenVINOModel:
    """An ONNX or OpenVINO IR (``.xml``) file compiled by OpenVINO for the
    CPU: ``(N, 3, H, W)`` float32 -> heatmaps.

    Computes in float32 (``INFERENCE_PRECISION_HINT='f32'``): on CPUs with
    bfloat16 units (AVX512-BF16, AMX) OpenVINO's default is bfloat16, whose
    8-bit mantissa moves heatmap maxima (13.5 px on a real photo in the
    parity test).
    """

    def __init__(self, path: str, threads: Optional[int] = None):
        ov = _import_runtime('openvino')
        core = ov.Core()
        model = core.read_model(path)
        shape = model.inputs[0].get_partial_shape()
        self.input_shape = tuple(
            d.get_length() if d.is_static else None for d in shape)
        config = {'PERFORMANCE_HINT': 'LATENCY',
                  'INFERENCE_PRECISION_HINT': 'f32'}
        if threads:
            config['INFERENCE_NUM_THREADS'] = threads
        self.compiled = core.compile_model(model, 'CPU', config)
        self.output = self.compiled.output(0)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.compiled(batch)[self.output]


MODEL_CLASSES = {'onnxruntime': OnnxRuntimeModel, 'openvino': OpenVINOModel}


# --------------------------------------------------------------------------
# Boxes
# --------------------------------------------------------------------------
def check_boxes(bboxes, image_shape: Tuple[int, int],
                source: str = 'bboxes') -> np.ndarray:
    """``(N, 4)`` float xyxy boxes with positive area that overlap the image.

    Zero-area boxes are dropped with a warning (as MMPose's
    ``inference_topdown`` callers do). Raises :class:`BoxError` (naming
    ``source`` and the box) for a malformed array, non-finite or inverted
    coordinates, or a box wholly outside the image.
    """
    try:
        boxes = np.asarray(bboxes, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise BoxError(f'{source}: expected (N, 4) xyxy boxes of numbers '
                       f'({error})') from error
    if boxes.size == 0:
        return np.zeros((0, 4))
    if boxes.ndim == 1:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] not in (4, 5):
        raise BoxError(f'{source}: expected (N, 4) xyxy boxes (or N, 5 with '
                       f'a score), got shape {boxes.shape}')
    boxes = boxes[:, :4]
    height, width = image_shape[:2]
    keep = []
    for i, box in enumerate(boxes):
        if not np.isfinite(box).all():
            raise BoxError(f'{source}: box {i} {box.tolist()} has a '
                           'non-finite coordinate')
        x1, y1, x2, y2 = box
        if x2 < x1 or y2 < y1:
            raise BoxError(f'{source}: box {i} {box.tolist()} is not '
                           '[x1, y1, x2, y2] with x1 <= x2, y1 <= y2')
        if x1 >= width or y1 >= height or x2 <= 0 or y2 <= 0:
            raise BoxError(f'{source}: box {i} {box.tolist()} lies outside '
                           f'the image (width {width}, height {height})')
        if x2 == x1 or y2 == y1:
            warnings.warn(f'{source}: box {i} {box.tolist()} has zero area; '
                          'skipped')
            continue
        keep.append(i)
    return boxes[keep]


def boxes_or_whole_image(bboxes, image_shape: Tuple[int, ...]) -> np.ndarray:
    """``(N, 4)`` xyxy boxes: :func:`check_boxes` of ``bboxes`` (zero-area
    boxes dropped), or the whole image as one box when ``bboxes`` is
    None."""
    if bboxes is None:
        height, width = image_shape[:2]
        return np.array([[0, 0, width, height]], np.float64)
    return check_boxes(bboxes, image_shape)


# --------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------
class TopdownPosePipeline:
    """Keypoints of the people in an image from an exported heatmap model.

    Args:
        model_path (str): ``.onnx`` (both runtimes) or OpenVINO ``.xml``.
        runtime (str): 'onnxruntime' or 'openvino'. Default: 'onnxruntime'.
        metadata (str, optional): the metadata file; default
            :func:`metadata_path` of ``model_path``.
        flip_test (bool, optional): average with the flipped input's
            heatmaps; default the config's ``test_cfg.flip_test``.
        threads (int, optional): runtime threads; default the runtime's.

    Raises:
        MetadataError: no metadata file, a malformed one, or one whose input
            size differs from the model's input shape.
        MissingRuntimeError: the runtime is not installed (names the extra).
    """

    def __init__(self,
                 model_path: str,
                 runtime: str = 'onnxruntime',
                 metadata: Optional[str] = None,
                 flip_test: Optional[bool] = None,
                 threads: Optional[int] = None):
        if runtime not in MODEL_CLASSES:
            raise ValueError(
                f'runtime {runtime!r}; allowed: {sorted(MODEL_CLASSES)}')
        if not osp.isfile(model_path):
            raise FileNotFoundError(f'model file not found: {model_path}')
        meta_file = metadata or metadata_path(model_path)
        self.meta = load_metadata(meta_file)
        self.model = MODEL_CLASSES[runtime](model_path, threads)
        self.runtime = runtime
        shape = self.model.input_shape
        width, height = self.meta['input_size']
        if len(shape) != 4 or shape[1] != 3 or shape[2:] != (height, width):
            raise MetadataError(
                f'{meta_file}: field \'input_size\' (w, h) = '
                f'{self.meta["input_size"]} disagrees with the input shape '
                f'{shape} (N, C, H, W) of {model_path}')
        self.fixed_batch = shape[0]
        self.flip_test = (self.meta['flip_test']['enabled']
                          if flip_test is None else bool(flip_test))

    @property
    def num_keypoints(self) -> int:
        return self.meta['num_keypoints']

    def preprocess(self, image: np.ndarray, bboxes: np.ndarray
                   ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Normalised crops ``(N, 3, H, W)`` and the boxes' centers and
        (aspect-fixed) scales ``(N, 2)``."""
        meta = self.meta
        width, height = meta['input_size']
        centers, scales = bbox_xyxy2cs(bboxes, meta['bbox_padding'])
        scales = fix_aspect_ratio(scales, width / height)
        warp = get_udp_warp_matrix if meta['use_udp'] else get_warp_matrix
        crops = np.zeros((len(bboxes), 3, height, width), np.float32)
        for i, (center, scale) in enumerate(zip(centers, scales)):
            crop = cv2.warpAffine(image, warp(center, scale, (width, height)),
                                  (width, height), flags=cv2.INTER_LINEAR)
            crops[i] = normalize(crop, meta['mean'], meta['std'],
                                 meta['bgr_to_rgb'])
        return crops, centers, scales

    def infer(self, crops: np.ndarray) -> np.ndarray:
        """Heatmaps of normalised crops, flip-test averaged when enabled."""
        if self.flip_test:
            both = self._run(np.concatenate([crops, crops[..., ::-1]]))
            flipped = flip_heatmaps(both[len(crops):],
                                    self.meta['flip_indices'],
                                    self.meta['flip_test']['shift_heatmap'])
            return (both[:len(crops)] + flipped) * 0.5
        return self._run(crops)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        step = self.fixed_batch or len(batch)
        outputs = []
        for start in range(0, len(batch), step):
            chunk = batch[start:start + step]
            if len(chunk) < step:  # pad a fixed batch
                chunk = np.concatenate(
                    [chunk, np.zeros((step - len(chunk), ) + chunk.shape[1:],
                                     np.float32)])
            outputs.append(self.model(chunk))
        return np.concatenate(outputs)[:len(batch)]

    def decode(self, heatmaps: np.ndarray, centers: np.ndarray,
               scales: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Keypoints ``(N, K, 2)`` in image pixels and scores ``(N, K)``."""
        codec = self.meta['codec']
        input_size = np.array(self.meta['input_size'], np.float32)
        keypoints = np.zeros((len(heatmaps), self.num_keypoints, 2),
                             np.float32)
        scores = np.zeros((len(heatmaps), self.num_keypoints), np.float32)
        for i, stack in enumerate(heatmaps):
            kpts, scores[i] = decode_heatmaps(stack, codec)
            keypoints[i] = (kpts / input_size * scales[i] + centers[i] -
                            0.5 * scales[i])
        return keypoints, scores

    def __call__(self, image: np.ndarray, bboxes=None
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keypoints of the people in ``image``.

        Args:
            image (np.ndarray): BGR ``(H, W, 3)`` uint8 (as ``cv2.imread``).
            bboxes: ``(N, 4)`` xyxy person boxes (``(N, 5)`` with scores is
                accepted); None means one box, the whole image.

        Returns:
            tuple: keypoints ``(N, K, 2)`` (x, y in image pixels), scores
            ``(N, K)``, and the ``(N, 4)`` boxes used (zero-area boxes
            dropped).
        """
        if not isinstance(image, np.ndarray) or image.ndim != 3 \
                or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                'image must be a BGR (H, W, 3) uint8 array, got '
                f'{getattr(image, "dtype", type(image))} '
                f'{getattr(image, "shape", "")}')
        boxes = boxes_or_whole_image(bboxes, image.shape)
        if len(boxes) == 0:
            k = self.num_keypoints
            return (np.zeros((0, k, 2), np.float32),
                    np.zeros((0, k), np.float32), boxes)
        crops, centers, scales = self.preprocess(image, boxes)
        keypoints, scores = self.decode(self.infer(crops), centers, scales)
        return keypoints, scores, boxes


def pipeline_latency_ms(pipeline: TopdownPosePipeline,
                        image: np.ndarray,
                        bboxes=None,
                        runs: int = 20,
                        warmup: int = 3) -> Dict[str, float]:
    """Median full-pipeline latency per person (pre-processing + model +
    decoding, one image with its boxes), as RTMPose publishes it.

    Returns a dict of medians in milliseconds: ``preprocess``, ``model``,
    ``decode`` and ``total`` per call, ``per_person`` (total / number of
    boxes), and ``people``.
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f'runs must be >= 1 and warmup >= 0, got {runs}, '
                         f'{warmup}')
    boxes = boxes_or_whole_image(bboxes, image.shape)
    if len(boxes) == 0:
        raise BoxError('pipeline_latency_ms: no box of positive area')
    times: Dict[str, List[float]] = dict(preprocess=[], model=[], decode=[])
    for run in range(warmup + runs):
        t0 = time.perf_counter()
        crops, centers, scales = pipeline.preprocess(image, boxes)
        t1 = time.perf_counter()
        heatmaps = pipeline.infer(crops)
        t2 = time.perf_counter()
        pipeline.decode(heatmaps, centers, scales)
        t3 = time.perf_counter()
        if run >= warmup:
            times['preprocess'].append(t1 - t0)
            times['model'].append(t2 - t1)
            times['decode'].append(t3 - t2)
    total = [sum(parts) for parts in zip(*times.values())]
    result = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    result['total'] = float(np.median(total)) * 1e3
    result['per_person'] = result['total'] / len(boxes)
    result['people'] = float(len(boxes))
    return result
