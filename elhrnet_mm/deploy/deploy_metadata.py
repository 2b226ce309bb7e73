"""The metadata file written beside an exported model.

:mod:`.pipeline` runs an exported network without a Python config; this
module collects, at export time, the few facts it needs from the config
(and the checkpoint's dataset meta) and writes them as JSON to
``<model>.pose.json`` (:func:`~.pipeline.metadata_path`):

* ``input_size`` (w, h), ``bbox_padding`` (``GetBBoxCenterScale``'s, 1.25 by
  default) and ``use_udp`` (``TopdownAffine``'s) of the test pipeline;
* ``mean``, ``std``, ``bgr_to_rgb`` of the model's ``data_preprocessor``;
* ``codec``: the head's decoder (``MSRAHeatmap`` with ``unbiased`` and
  ``blur_kernel_size``, or ``UDPHeatmap`` with gaussian heatmaps), with
  ``input_size``, ``heatmap_size`` and ``sigma``;
* ``flip_test``: ``test_cfg``'s ``flip_test`` (as ``enabled``),
  ``shift_heatmap``;
* the dataset's ``num_keypoints``, ``flip_indices``, ``keypoint_names``,
  ``skeleton`` (index pairs), ``keypoint_colors``, ``skeleton_colors``
  (RGB, as MMPose's dataset metainfo files write them).

The reader (:func:`~.pipeline.load_metadata`) lives in :mod:`.pipeline`,
which needs no training stack; this writer reads MMPose configs.
"""
import json
import os
import os.path as osp
from typing import Optional, Sequence

from .pipeline import (CODECS, METADATA_VERSION, metadata_path,
                       validate_metadata)

#: MMPose's defaults where a config leaves a value out.
DEFAULT_BBOX_PADDING = 1.25
DEFAULT_BLUR_KERNEL_SIZE = 11


def _transform(pipeline: Sequence[dict], name: str) -> Optional[dict]:
    for step in pipeline:
        if step.get('type') == name:
            return step
    return None


def dataset_meta_of(cfg) -> dict:
    """The test dataset's parsed metainfo (MMPose's ``parse_pose_metainfo``):
    its ``metainfo`` override, else its class's ``METAINFO``."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.registry import DATASETS
    from mmpose.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    dataset = cfg.test_dataloader.dataset
    metainfo = dataset.get('metainfo')
    if metainfo is None:
        cls = DATASETS.get(dataset.type)
        if cls is None:
            raise ValueError(f'test_dataloader.dataset.type '
                             f'{dataset.type!r} is not a registered dataset')
        metainfo = cls.METAINFO
    return parse_pose_metainfo(dict(metainfo))


def _codec_facts(decoder: dict) -> dict:
    codec_type = decoder.get('type')
    if codec_type not in CODECS:
        raise ValueError(f'model.head.decoder.type {codec_type!r} is not '
                         f'supported by the pipeline; allowed: '
                         f'{list(CODECS)}')
    facts = dict(
        type=codec_type,
        input_size=[int(v) for v in decoder['input_size']],
        heatmap_size=[int(v) for v in decoder['heatmap_size']],
        sigma=float(decoder['sigma']),
        blur_kernel_size=int(
            decoder.get('blur_kernel_size', DEFAULT_BLUR_KERNEL_SIZE)))
    if codec_type == 'MSRAHeatmap':
        facts['unbiased'] = bool(decoder.get('unbiased', False))
    elif decoder.get('heatmap_type', 'gaussian') != 'gaussian':
        raise ValueError(
            f'model.head.decoder.heatmap_type '
            f'{decoder["heatmap_type"]!r}: the pipeline decodes UDPHeatmap '
            "with heatmap_type='gaussian' only")
    return facts


def deploy_metadata(cfg, dataset_meta: Optional[dict] = None,
                    input_hw: Optional[Sequence[int]] = None) -> dict:
    """The metadata dict of a config (see the module docstring).

    Args:
        cfg (mmengine.Config): the model's config.
        dataset_meta (dict, optional): a checkpoint's ``meta.dataset_meta``
            (parsed metainfo); default the config's test dataset's.
        input_hw (Sequence[int], optional): (H, W) of the exported input;
            an error when it differs from the codec's input size (the
            decoding would be wrong).

    Raises:
        ValueError: naming the config field that the pipeline cannot serve.
    """
    model = cfg.model
    decoder = model.head.get('decoder')
    if decoder is None:
        raise ValueError('model.head.decoder is missing: the pipeline needs '
                         'the codec')
    codec = _codec_facts(decoder)
    width, height = codec['input_size']
    if input_hw is not None and tuple(input_hw) != (height, width):
        raise ValueError(
            f'export input (H, W) = {tuple(input_hw)} differs from the '
            f'codec input_size (W, H) = ({width}, {height}); the pipeline '
            'decodes with the codec, so export at the codec input size')
    pipeline = cfg.test_dataloader.dataset.pipeline
    center_scale = _transform(pipeline, 'GetBBoxCenterScale') or {}
    affine = _transform(pipeline, 'TopdownAffine')
    if affine is None:
        raise ValueError('test_dataloader.dataset.pipeline has no '
                         'TopdownAffine: not a top-down config')
    if list(affine['input_size']) != [width, height]:
        raise ValueError(
            f"TopdownAffine input_size {list(affine['input_size'])} differs "
            f'from the codec input_size {[width, height]}')
    pre = model.data_preprocessor
    test_cfg = model.get('test_cfg') or {}
    if test_cfg.get('flip_mode', 'heatmap') != 'heatmap':
        raise ValueError(f"model.test_cfg.flip_mode "
                         f"{test_cfg['flip_mode']!r}; allowed: 'heatmap'")
    meta = dataset_meta if dataset_meta is not None else dataset_meta_of(cfg)
    num_keypoints = int(meta['num_keypoints'])
    id2name = meta.get('keypoint_id2name') or {}
    return validate_metadata(dict(
        version=METADATA_VERSION,
        input_size=[width, height],
        mean=[float(v) for v in pre['mean']],
        std=[float(v) for v in pre['std']],
        bgr_to_rgb=bool(pre.get('bgr_to_rgb', False)),
        bbox_padding=float(
            center_scale.get('padding', DEFAULT_BBOX_PADDING)),
        use_udp=bool(affine.get('use_udp', False)),
        codec=codec,
        flip_test=dict(
            enabled=bool(test_cfg.get('flip_test', False)),
            shift_heatmap=bool(test_cfg.get('shift_heatmap', False))),
        num_keypoints=num_keypoints,
        flip_indices=[int(i) for i in meta['flip_indices']],
        keypoint_names=[str(id2name.get(i, i)) for i in range(num_keypoints)],
        skeleton=[[int(a), int(b)] for a, b in meta.get('skeleton_links', [])],
        keypoint_colors=[[int(c) for c in color]
                         for color in meta.get('keypoint_colors', [])],
        skeleton_colors=[[int(c) for c in color]
                         for color in meta.get('skeleton_link_colors', [])],
        dataset_name=str(meta.get('dataset_name', ''))),
        path='<config>')


def write_deploy_metadata(model_path: str, cfg,
                          dataset_meta: Optional[dict] = None,
                          input_hw: Optional[Sequence[int]] = None) -> str:
    """Write :func:`deploy_metadata` to :func:`~.pipeline.metadata_path` of
    ``model_path`` (atomically: a temporary file renamed); returns its
    path."""
    meta = deploy_metadata(cfg, dataset_meta, input_hw)
    path = metadata_path(model_path)
    tmp = f'{path}.tmp-{os.getpid()}'
    try:
        with open(tmp, 'w') as f:
            json.dump(meta, f, indent=1)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path
