"""Validate COCO-format keypoint annotation files before training.

MMPose's COCO-style datasets parse annotations without validating them: a
missing ``width`` or ``id`` raises a bare ``KeyError`` that names neither
the file nor the entry, and a NaN box passes every filter into a training
sample (an all-black input with no keypoint weights: silently wasted).
:func:`check_coco_annotations` reads a file once and

* raises ValueError naming the file, the entry and the field for what MMPose
  would crash on or silently learn from (missing required keys, non-finite
  or non-numeric boxes/keypoints, labelled keypoints at negative
  coordinates, visibility flags outside 0/1/2, keypoint lists of the wrong
  length, negative or non-finite ``area``, missing image files, no usable
  instance at all);
* returns warnings for what MMPose itself skips (annotations without
  ``bbox`` or ``keypoints``, zero-area boxes, annotations of unknown images,
  images without people).
"""
import json
import math
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import numpy as np

from .data_check import SELF_GENERATING

IMAGE_KEYS = ('id', 'file_name', 'width', 'height')
ANNOTATION_KEYS = ('id', 'image_id', 'category_id')
#: Entries listed per problem before "... and N more".
MAX_LISTED = 5


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _listed(ids: List) -> str:
    more = len(ids) - MAX_LISTED
    return ', '.join(map(str, ids[:MAX_LISTED])) + (
        f', ... and {more} more' if more > 0 else '')


class _Checker:
    """One pass over one annotation file; see :func:`check_coco_annotations`.
    """

    def __init__(self, ann_file: str):
        self.ann_file = ann_file
        # what was skipped -> ids of the skipped entries
        self.skipped: Dict[str, List] = defaultdict(list)

    def fail(self, where: str, problem: str) -> None:
        raise ValueError(f'{self.ann_file}: {where} {problem}')

    def load(self) -> dict:
        try:
            with open(self.ann_file) as f:
                data = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{self.ann_file}: not valid JSON ({err})')
        if not isinstance(data, dict):
            self.fail('top level', f'is a {type(data).__name__}; a COCO '
                      'file is an object with images and annotations')
        for key in ('images', 'annotations'):
            if not isinstance(data.get(key), list):
                self.fail(f"'{key}'", 'is missing or not a list; allowed: a '
                          'list of COCO entries')
        return data

    def check_images(self, images: List[dict],
                     img_dir: Optional[str]) -> Dict[object, dict]:
        by_id, missing_files = {}, []
        for i, img in enumerate(images):
            where = f'images[{i}] (id={img.get("id")})'
            for key in IMAGE_KEYS:
                if key not in img:
                    self.fail(where, f"lacks '{key}'; COCO image entries "
                              f'need {list(IMAGE_KEYS)}')
            for key in ('width', 'height'):
                if not _is_number(img[key]) or not img[key] > 0:
                    self.fail(where, f'{key} = {img[key]!r}; allowed: a '
                              'positive number of pixels')
            by_id[img['id']] = img
            if img_dir is not None and not osp.isfile(
                    osp.join(img_dir, img['file_name'])):
                missing_files.append(osp.join(img_dir, img['file_name']))
        if missing_files:
            raise ValueError(
                f'{self.ann_file}: {len(missing_files)} image file(s) it '
                f'lists do not exist: {_listed(missing_files)}')
        return by_id

    def check_bbox(self, where: str, bbox) -> bool:
        """Validate a bbox; False for one MMPose skips (zero area)."""
        if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4
                or not all(_is_number(v) and math.isfinite(v) for v in bbox)):
            self.fail(where, f'bbox = {bbox!r}; allowed: 4 finite numbers '
                      '[x, y, width, height]')
        return bbox[2] > 0 and bbox[3] > 0

    def check_keypoints(self, where: str, kpts, num_keypoints: int) -> None:
        """Validate one annotation's keypoints (raises on the first fault).
        """
        if not isinstance(kpts, (list, tuple)):
            self.fail(where, f'keypoints = {kpts!r}; allowed: a list of '
                      'x, y, visibility numbers')
        if (not kpts or len(kpts) % 3
                or (num_keypoints and len(kpts) != 3 * num_keypoints)):
            need = (f'{3 * num_keypoints} numbers' if num_keypoints else
                    'a non-empty multiple of 3 numbers')
            self.fail(where, f'keypoints has {len(kpts)} numbers; allowed: '
                      f'{need} (x, y, visibility per keypoint)')
        for k in range(len(kpts) // 3):
            x, y, v = kpts[3 * k:3 * k + 3]
            if not all(_is_number(c) and math.isfinite(c) for c in (x, y, v)):
                self.fail(where, f'keypoint {k} = {[x, y, v]!r}; allowed: '
                          'finite numbers')
            if v not in (0, 1, 2):
                self.fail(where, f'keypoint {k} has visibility {v!r}; '
                          'allowed: 0 (not labelled), 1, 2')
            if v > 0 and (x < 0 or y < 0):
                self.fail(where, f'keypoint {k} = {[x, y, v]!r} is labelled '
                          'at a negative coordinate; allowed: x, y >= 0 '
                          '(image pixels) for labelled keypoints')

    def labelled(self, anns: List[Tuple[int, dict]],
                 num_kpts: Dict) -> np.ndarray:
        """Whether each annotation has a labelled keypoint, validating all.

        Vectorized when all keypoint lists form one numeric array;
        :meth:`check_keypoints` then re-checks the first faulty annotation
        to name it (and is the slow path for ragged or non-numeric lists).
        """
        expected = np.array(
            [3 * num_kpts.get(a['category_id'], 0) for _, a in anns])
        try:
            arr = np.array([a['keypoints'] for _, a in anns])
        except ValueError:  # ragged
            arr = None
        if (arr is not None and arr.ndim == 2 and arr.dtype.kind in 'iuf'
                and arr.shape[1] and arr.shape[1] % 3 == 0):
            x, y, v = arr[:, 0::3], arr[:, 1::3], arr[:, 2::3]
            bad = ((~np.isfinite(arr)).any(1)
                   | (~np.isin(v, (0, 1, 2))).any(1)
                   | ((v > 0) & ((x < 0) | (y < 0))).any(1)
                   | ((expected > 0) & (expected != arr.shape[1])))
            faulty = [anns[j] for j in np.flatnonzero(bad)[:1]]
            labelled = (v > 0).any(1)
        else:
            faulty = anns
            labelled = np.array(
                [any(v > 0 for v in a['keypoints'][2::3]) for _, a in anns],
                dtype=bool)
        for i, ann in faulty:
            self.check_keypoints(f'annotations[{i}] (id={ann.get("id")})',
                                 ann['keypoints'],
                                 num_kpts.get(ann['category_id'], 0))
        return labelled

    def count_people(self, data: dict, images: Dict[object, dict]) -> int:
        """Validate the annotations; return how many images have a usable
        person instance (non-crowd, positive-area bbox, a labelled keypoint).
        """
        num_kpts = {
            c.get('id'): len(c['keypoints'])
            for c in data.get('categories') or []
            if isinstance(c, dict) and isinstance(c.get('keypoints'), list)
        }
        candidates = []  # (index, annotation) MMPose parses
        for i, ann in enumerate(data['annotations']):
            where = f'annotations[{i}] (id={ann.get("id")})'
            for key in ANNOTATION_KEYS:
                if key not in ann:
                    self.fail(where, f"lacks '{key}'; COCO keypoint "
                              f'annotations need {list(ANNOTATION_KEYS)}, '
                              'bbox and keypoints')
            if ann['image_id'] not in images:
                self.skipped['annotation(s) refer to an image id not in '
                             'images'].append(ann['id'])
                continue
            if 'bbox' not in ann or 'keypoints' not in ann:
                self.skipped['annotation(s) lack bbox or keypoints'].append(
                    ann['id'])
                continue
            area = ann.get('area', 0)
            if not _is_number(area) or not math.isfinite(area) or area < 0:
                self.fail(where, f'area = {area!r}; allowed: a finite number '
                          '>= 0')
            if not self.check_bbox(where, ann['bbox']):
                self.skipped['annotation(s) have a zero-area bbox'].append(
                    ann['id'])
                continue
            candidates.append((i, ann))
        labelled = self.labelled(candidates, num_kpts) if candidates else []
        people = {
            ann['image_id']
            for (_, ann), lab in zip(candidates, labelled)
            if lab and not ann.get('iscrowd', 0)
            and ann.get('num_keypoints') != 0
        }
        without = [i for i in images if i not in people]
        if without:
            self.skipped['image(s) have no usable person annotation (no '
                         'top-down sample)'] = without
        return len(people)


def check_coco_annotations(ann_file: str,
                           img_dir: Optional[str] = None) -> List[str]:
    """Validate one COCO-format keypoint annotation file.

    Args:
        ann_file (str): the JSON file.
        img_dir (str, optional): directory the images' ``file_name`` are
            relative to (``data_root`` + ``data_prefix['img']``); when given,
            every listed image must exist.

    Returns:
        list[str]: warnings, one per kind of entry MMPose skips, each naming
        the file, the count and the first ids.

    Raises:
        ValueError: naming the file, the entry and the field, for entries
            MMPose would crash on or train on wrongly, or when no annotation
            is usable for training.
    """
    checker = _Checker(ann_file)
    data = checker.load()
    images = checker.check_images(data['images'], img_dir)
    if not checker.count_people(data, images):
        raise ValueError(
            f'{ann_file}: no usable person instance (one with a bbox of '
            'positive area and at least one labelled keypoint, not crowd); '
            'MMPose would build an empty dataset')
    return [
        f'{ann_file}: {len(ids)} {what}; MMPose skips them (ids: '
        f'{_listed(ids)})' for what, ids in checker.skipped.items()
    ]


def _coco_datasets(dataset: dict):
    """Yield the COCO-format dataset configs inside a dataset config."""
    from mmpose.datasets.datasets.base import BaseCocoStyleDataset
    from mmpose.registry import DATASETS
    if 'datasets' in dataset:  # CombinedDataset
        for sub in dataset['datasets']:
            yield from _coco_datasets(sub)
        return
    if 'dataset' in dataset:  # RepeatDataset and other wrappers
        yield from _coco_datasets(dataset['dataset'])
        return
    kind = dataset.get('type')
    if kind in SELF_GENERATING or not isinstance(kind, str):
        return
    cls = DATASETS.get(kind)
    # subclasses that override the loading (MPII, ...) use other formats
    if (cls is not None and issubclass(cls, BaseCocoStyleDataset) and
            cls._load_annotations is BaseCocoStyleDataset._load_annotations):
        yield dataset


def check_annotation_files(cfg, splits=('train', 'val')) -> List[str]:
    """:func:`check_coco_annotations` for every COCO-format dataset of the
    ``{split}_dataloader`` configs; returns all warnings.

    Annotation files that do not exist are left to
    :func:`~elhrnet_mm.utils.data_check.check_dataset_paths`.
    """
    warnings, seen = [], set()
    for split in splits:
        loader = cfg.get(f'{split}_dataloader') or {}
        for ds in _coco_datasets(loader.get('dataset', {})):
            root = ds.get('data_root') or ''
            ann_file = ds.get('ann_file')
            if not ann_file:
                continue
            ann_file = osp.join(root, ann_file)
            img = (ds.get('data_prefix') or {}).get('img')
            img_dir = osp.join(root, img) if img is not None else None
            if (ann_file, img_dir) in seen or not osp.isfile(ann_file):
                continue
            if img_dir is not None and '://' in img_dir:
                img_dir = None  # remote storage: not checked
            seen.add((ann_file, img_dir))
            warnings += check_coco_annotations(ann_file, img_dir)
    return warnings
