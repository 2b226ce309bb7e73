"""Built-in synthetic person-keypoint dataset in COCO format.

COCO itself cannot be downloaded everywhere, so ``elhrnet_mm`` renders its own
default data: images of colour-coded, articulated "mannequins" (capsule limbs,
ball joints, a head with eyes, ears and nose) on textured backgrounds, with
exact COCO-style keypoint annotations (17 COCO keypoints, visibility flags
0/1/2, tight boxes). The data is deterministic for a given set of generation
parameters and is cached on disk on first use.

Public API:

* :func:`generate_synthetic_coco` writes a dataset into a directory.
* :func:`ensure_synthetic_coco` makes sure a complete dataset with the given
  parameters exists at a root (generating it atomically if it does not) and
  returns that root.
* :func:`synthetic_coco_root` gives the default cache root.
* :class:`SyntheticCocoDataset` is MMPose's ``CocoDataset`` that generates its
  data on construction when needed; registered in ``mmpose.registry.DATASETS``.
* ``keypoint_subset`` (names of COCO keypoints, in the order to keep) makes a
  dataset with K < 17 keypoints, a stand-in for a user's own keypoint set;
  :func:`keypoint_subset_metainfo` gives its MMPose dataset metainfo (the
  generator also writes it to ``root/dataset_info.py`` for configs'
  ``metainfo=dict(from_file=...)``). See docs/custom_dataset.md.

On-disk layout (``root`` = a dataset root)::

    root/meta.json                               generation parameters
    root/annotations/person_keypoints_train.json
    root/annotations/person_keypoints_val.json
    root/images/train/00000001.jpg ...           8-digit image id
    root/images/val/00000001.jpg ...

The drawing of one image lives in :mod:`.mannequin_renderer`; see
``docs/synthetic_data.md`` for the rendering model and the knobs.
"""
import json
import os
import os.path as osp
import pprint
import shutil
import socket
import tempfile
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmpose.datasets import CocoDataset
from mmpose.registry import DATASETS

from .mannequin_renderer import (COCO_KEYPOINT_NAMES, COCO_SKELETON,
                                 render_image)

__all__ = [
    'COCO_KEYPOINT_NAMES', 'COCO_SKELETON', 'SyntheticCocoDataset',
    'ensure_synthetic_coco', 'generate_synthetic_coco',
    'keypoint_subset_metainfo', 'synthetic_coco_root'
]

#: Bumped whenever the rendering changes; part of the default cache name.
GENERATOR_VERSION = 1
DEFAULT_NUM_TRAIN_IMAGES = 600
DEFAULT_NUM_VAL_IMAGES = 100
DEFAULT_SEED = 0
DEFAULT_IMAGE_SIZE: Tuple[int, int] = (320, 240)  # (width, height)
DEFAULT_MAX_PEOPLE = 3

_SPLITS: Tuple[str, ...] = ('train', 'val')
_MAX_IMAGES = 1_000_000
_IMAGE_SIDE_RANGE = (64, 4096)
_MAX_PEOPLE_RANGE = (1, 8)
_JPEG_QUALITY = 92
_META_FILE = 'meta.json'
#: Dataset metainfo file written for a keypoint subset.
DATASET_INFO_FILE = 'dataset_info.py'
#: MMPose's COCO metainfo, relative to its package data (``.mim``).
_MMPOSE_COCO_INFO = osp.join('configs', '_base_', 'datasets', 'coco.py')

# --------------------------------------------------------------------------
# Dataset files
# --------------------------------------------------------------------------
def _check_params(num_train_images: int, num_val_images: int, seed: int,
                  image_size: Sequence[int], max_people: int,
                  keypoint_subset: Optional[Sequence[str]] = None) -> dict:
    """Validate generation parameters; return them as a JSON-able dict.

    Raises:
        ValueError: naming the bad argument and its allowed values.
    """

    def is_int(v: object) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    for name, value in (('num_train_images', num_train_images),
                        ('num_val_images', num_val_images)):
        if not is_int(value) or not 1 <= value <= _MAX_IMAGES:
            raise ValueError(f'{name} must be an int in [1, {_MAX_IMAGES}], '
                             f'got {value!r}')
    if not is_int(seed) or not 0 <= seed < 2**63:
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')
    lo, hi = _IMAGE_SIDE_RANGE
    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2
            or not all(is_int(v) and lo <= v <= hi for v in image_size)):
        raise ValueError('image_size must be (width, height) with two ints '
                         f'in [{lo}, {hi}], got {image_size!r}')
    lo, hi = _MAX_PEOPLE_RANGE
    if not is_int(max_people) or not lo <= max_people <= hi:
        raise ValueError(f'max_people must be an int in [{lo}, {hi}], '
                         f'got {max_people!r}')
    params = dict(version=GENERATOR_VERSION,
                  num_train_images=int(num_train_images),
                  num_val_images=int(num_val_images), seed=int(seed),
                  image_size=[int(image_size[0]), int(image_size[1])],
                  max_people=int(max_people))
    if keypoint_subset is not None:
        _subset_indices(keypoint_subset)  # checks the names
        params['keypoint_subset'] = [str(name) for name in keypoint_subset]
    return params


def _subset_indices(names: Sequence[str]) -> List[int]:
    """0-based COCO indices of keypoint ``names``; ValueError naming the
    bad name and the allowed ones."""
    if (isinstance(names, str) or not isinstance(names, (list, tuple))
            or not names):
        raise ValueError('keypoint_subset must be a non-empty list of COCO '
                         f'keypoint names, got {names!r}')
    for name in names:
        if name not in COCO_KEYPOINT_NAMES:
            raise ValueError(f'keypoint_subset: {name!r} is not a COCO '
                             f'keypoint; allowed: {list(COCO_KEYPOINT_NAMES)}')
    if len(set(names)) != len(names):
        raise ValueError(f'keypoint_subset has repeated names: {names!r}')
    return [COCO_KEYPOINT_NAMES.index(name) for name in names]


def _subset_skeleton(indices: Sequence[int]) -> List[List[int]]:
    """COCO's links between kept keypoints, as 1-based new indices."""
    new = {old + 1: i + 1 for i, old in enumerate(indices)}
    return [[new[a], new[b]] for a, b in COCO_SKELETON
            if a in new and b in new]


def keypoint_subset_metainfo(names: Sequence[str]) -> dict:
    """MMPose dataset metainfo (the ``dataset_info`` dict of its
    ``configs/_base_/datasets/*.py``) of a subset of COCO's keypoints:
    names, colours, types, flip partners (none when the partner is not
    kept), skeleton links between kept keypoints, joint weights and OKS
    sigmas, all taken from MMPose's COCO metainfo."""
    import mmpose
    from mmengine.config import Config
    indices = _subset_indices(names)
    coco = Config.fromfile(osp.join(osp.dirname(mmpose.__file__), '.mim',
                                    _MMPOSE_COCO_INFO)).dataset_info
    keypoint_info = {}
    for new_id, old_id in enumerate(indices):
        info = dict(coco['keypoint_info'][old_id])
        keypoint_info[new_id] = dict(
            name=info['name'], id=new_id, color=list(info['color']),
            type=info['type'],
            swap=info['swap'] if info['swap'] in names else '')
    kept = set(names)
    skeleton_info = {}
    for link in coco['skeleton_info'].values():
        a, b = link['link']
        if a in kept and b in kept:
            skeleton_info[len(skeleton_info)] = dict(
                link=(a, b), id=len(skeleton_info), color=list(link['color']))
    return dict(
        dataset_name=f'synthetic_coco_{len(indices)}kpt',
        paper_info=dict(coco['paper_info']),
        keypoint_info=keypoint_info,
        skeleton_info=skeleton_info,
        joint_weights=[coco['joint_weights'][i] for i in indices],
        sigmas=[coco['sigmas'][i] for i in indices])


def _categories(indices: Sequence[int]) -> List[dict]:
    """COCO's ``categories`` entry for people with the kept keypoints."""
    return [dict(supercategory='person', id=1, name='person',
                 keypoints=[COCO_KEYPOINT_NAMES[i] for i in indices],
                 skeleton=_subset_skeleton(indices))]


def _generate_split(root: str, split: str, num_images: int, seed: int,
                    width: int, height: int, max_people: int,
                    indices: Sequence[int]) -> dict:
    """Render one split's images into ``root/images/<split>/`` and return its
    COCO annotation dict."""
    image_dir = osp.join(root, 'images', split)
    os.makedirs(image_dir, exist_ok=True)
    images, annotations = [], []
    for index in range(num_images):
        image_id = index + 1
        seq = np.random.SeedSequence([seed, _SPLITS.index(split), index])
        image, people = render_image(np.random.default_rng(seq), width,
                                      height, max_people)
        file_name = f'{image_id:08d}.jpg'
        ok, data = cv2.imencode('.jpg', image,
                                [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
        if not ok:
            raise RuntimeError(f'could not encode {file_name} as JPEG')
        with open(osp.join(image_dir, file_name), 'wb') as f:
            f.write(data.tobytes())
        images.append(dict(id=image_id, file_name=file_name, width=width,
                           height=height))
        for person in people:
            kpts = np.round(person['keypoints'][list(indices)], 2)
            bbox = np.round(person['bbox'], 2)
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_id, category_id=1,
                keypoints=[float(v) if i % 3 < 2 else int(v)
                           for i, v in enumerate(kpts.reshape(-1))],
                num_keypoints=int(np.count_nonzero(kpts[:, 2])),
                bbox=[float(v) for v in bbox],
                area=float(round(bbox[2] * bbox[3], 2)), iscrowd=0))
    return dict(
        info=dict(description='elhrnet_mm synthetic person keypoints '
                  f'({split})', version=str(GENERATOR_VERSION)),
        licenses=[], images=images, annotations=annotations,
        categories=_categories(indices))


def generate_synthetic_coco(
        root: str,
        num_train_images: int = DEFAULT_NUM_TRAIN_IMAGES,
        num_val_images: int = DEFAULT_NUM_VAL_IMAGES,
        seed: int = DEFAULT_SEED,
        image_size: Sequence[int] = DEFAULT_IMAGE_SIZE,
        max_people: int = DEFAULT_MAX_PEOPLE,
        keypoint_subset: Optional[Sequence[str]] = None) -> dict:
    """Render a synthetic COCO person-keypoint dataset into ``root``.

    Writes ``images/{train,val}/XXXXXXXX.jpg`` (8-digit image id, ids start at
    1 in each split), ``annotations/person_keypoints_{train,val}.json`` and,
    last, ``meta.json``. Writing is not atomic; use
    :func:`ensure_synthetic_coco` for a shared cache. Same arguments give
    byte-identical files (with the same OpenCV build); image ``i`` of a split
    depends only on (``seed``, split, ``i``, ``image_size``, ``max_people``).

    Args:
        root: Output directory (created if missing; existing files with the
            same names are overwritten).
        num_train_images: Number of training images, in [1, 1e6].
        num_val_images: Number of validation images, in [1, 1e6].
        seed: Non-negative int seed.
        image_size: (width, height) in pixels, each in [64, 4096].
        max_people: People per image are drawn uniformly from
            ``1..max_people`` (fewer if they cannot be placed without heavy
            overlap), in [1, 8].
        keypoint_subset: Names of the COCO keypoints to annotate, in their
            new order (default: all 17); the images are the same. With a
            subset, ``root/dataset_info.py`` holds its MMPose metainfo
            (:func:`keypoint_subset_metainfo`).

    Returns:
        The content of ``meta.json``: the parameters plus the number of
        person instances per split (``num_train_instances``,
        ``num_val_instances``).

    Raises:
        ValueError: if a parameter is out of range.
    """
    meta = _check_params(num_train_images, num_val_images, seed, image_size,
                         max_people, keypoint_subset)
    width, height = meta['image_size']
    indices = (_subset_indices(keypoint_subset) if keypoint_subset
               is not None else list(range(len(COCO_KEYPOINT_NAMES))))
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    if keypoint_subset is not None:
        with open(osp.join(root, DATASET_INFO_FILE), 'w') as f:
            f.write('dataset_info = ' + pprint.pformat(
                keypoint_subset_metainfo(keypoint_subset), sort_dicts=False)
                    + '\n')
    for split, count in (('train', meta['num_train_images']),
                         ('val', meta['num_val_images'])):
        coco = _generate_split(root, split, count, meta['seed'], width,
                               height, meta['max_people'], indices)
        meta[f'num_{split}_instances'] = len(coco['annotations'])
        with open(osp.join(root, 'annotations',
                           f'person_keypoints_{split}.json'), 'w') as f:
            json.dump(coco, f, separators=(',', ':'))
    with open(osp.join(root, _META_FILE), 'w') as f:
        json.dump(meta, f, indent=2)
    return meta


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------
def synthetic_coco_root() -> str:
    """Default dataset root: ``$ELHRNET_MM_DATA/synthetic_coco_v1``.

    ``ELHRNET_MM_DATA`` defaults to ``~/.cache/elhrnet_mm``; the result is an
    absolute path with ``~`` expanded.
    """
    base = os.environ.get('ELHRNET_MM_DATA', '~/.cache/elhrnet_mm')
    return osp.abspath(osp.join(osp.expanduser(base),
                                f'synthetic_coco_v{GENERATOR_VERSION}'))


def _read_meta(root: str) -> Optional[dict]:
    """``root/meta.json`` as a dict, or None when there is none."""
    path = osp.join(root, _META_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _temp_prefix(root: str) -> str:
    """Name prefix of this host's temporary build directories for ``root``.
    """
    return f'.{osp.basename(root)}.tmp-{socket.gethostname()}-'


def _remove_stale_temp_dirs(root: str) -> None:
    """Delete temporary build directories beside ``root`` left by processes
    of this host that no longer run (interrupted generations)."""
    parent, prefix = osp.dirname(root), _temp_prefix(root)
    for name in os.listdir(parent):
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix):].split('-', 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(osp.join(parent, name), ignore_errors=True)
        except PermissionError:
            pass  # alive, owned by someone else


def ensure_synthetic_coco(
        data_root: Optional[str] = None,
        num_train_images: int = DEFAULT_NUM_TRAIN_IMAGES,
        num_val_images: int = DEFAULT_NUM_VAL_IMAGES,
        seed: int = DEFAULT_SEED,
        image_size: Sequence[int] = DEFAULT_IMAGE_SIZE,
        max_people: int = DEFAULT_MAX_PEOPLE,
        keypoint_subset: Optional[Sequence[str]] = None) -> str:
    """Make sure ``data_root`` holds the synthetic dataset with these
    parameters, generating it if needed, and return its absolute path.

    Generation goes into a temporary directory beside ``data_root`` that is
    renamed to ``data_root`` when complete, so concurrent callers and
    interrupted runs never leave a half-written dataset; when another process
    finishes first, its (identical) result is used.

    Args:
        data_root: Dataset root; ``None`` means :func:`synthetic_coco_root`.
            ``~`` is expanded. It must not exist, be empty, or hold a
            dataset generated by this module.
        num_train_images, num_val_images, seed, image_size, max_people,
            keypoint_subset: see :func:`generate_synthetic_coco`.

    Returns:
        The absolute dataset root.

    Raises:
        ValueError: if a parameter is out of range, if ``data_root`` holds a
            synthetic dataset generated with other parameters, or if it is a
            non-empty directory without one.
    """
    params = _check_params(num_train_images, num_val_images, seed,
                           image_size, max_people, keypoint_subset)
    root = osp.abspath(osp.expanduser(data_root or synthetic_coco_root()))
    meta = _read_meta(root)
    if meta is None:
        if osp.isdir(root) and os.listdir(root):
            raise ValueError(
                f'data_root {root!r} is a non-empty directory without a '
                f'synthetic dataset ({_META_FILE}); pass an empty or new '
                'directory as data_root')
        parent = osp.dirname(root)
        os.makedirs(parent, exist_ok=True)
        _remove_stale_temp_dirs(root)
        tmp = tempfile.mkdtemp(prefix=f'{_temp_prefix(root)}{os.getpid()}-',
                               dir=parent)
        try:
            generate_synthetic_coco(tmp, **{
                k: v for k, v in params.items() if k != 'version'})
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private (0700)
            if osp.isdir(root) and not os.listdir(root):
                os.rmdir(root)
            try:
                os.rename(tmp, root)
            except OSError:
                if _read_meta(root) is None:
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        meta = _read_meta(root)
    found = {k: meta.get(k) for k in set(params) | {'keypoint_subset'}}
    if found != dict(params, keypoint_subset=params.get('keypoint_subset')):
        raise ValueError(
            f'data_root {root!r} holds a synthetic dataset generated with '
            f'{found}, but {params} was requested; pass another data_root '
            'or delete that directory to regenerate')
    return root


@DATASETS.register_module()
class SyntheticCocoDataset(CocoDataset):
    """MMPose ``CocoDataset`` over the built-in synthetic person data.

    On construction, when ``ann_file`` does not exist under ``data_root`` (or
    ``data_root`` holds a synthetic dataset), :func:`ensure_synthetic_coco`
    generates (or checks) the whole dataset, both splits, in ``data_root``.
    A ``data_root`` with a COCO-format ``ann_file`` but no ``meta.json`` is
    loaded as it is. Everything else (loading, filtering, the COCO
    ``metainfo``) is ``CocoDataset``'s.

    Args:
        ann_file: Annotation file relative to ``data_root``.
            Default: the training split.
        data_root: Dataset root; ``None`` means :func:`synthetic_coco_root`.
        data_prefix: Image folder, e.g. ``dict(img='images/val/')``.
            Default: the training images.
        num_train_images, num_val_images, seed, image_size, max_people,
            keypoint_subset: Generation parameters, see
            :func:`generate_synthetic_coco` (with a keypoint subset, pass
            its metainfo too: ``metainfo=dict(from_file=<data_root>/
            dataset_info.py)``).
        **kwargs: Any other ``CocoDataset`` argument (``data_mode``,
            ``pipeline``, ``test_mode``, ...).
    """

    def __init__(self,
                 ann_file: str = 'annotations/person_keypoints_train.json',
                 data_root: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 num_train_images: int = DEFAULT_NUM_TRAIN_IMAGES,
                 num_val_images: int = DEFAULT_NUM_VAL_IMAGES,
                 seed: int = DEFAULT_SEED,
                 image_size: Sequence[int] = DEFAULT_IMAGE_SIZE,
                 max_people: int = DEFAULT_MAX_PEOPLE,
                 keypoint_subset: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        root = osp.abspath(osp.expanduser(data_root or synthetic_coco_root()))
        if (not osp.isfile(osp.join(root, ann_file))
                or _read_meta(root) is not None):
            ensure_synthetic_coco(root, num_train_images, num_val_images,
                                  seed, image_size, max_people,
                                  keypoint_subset)
        if data_prefix is None:
            data_prefix = dict(img='images/train/')
        super().__init__(ann_file=ann_file, data_root=root,
                         data_prefix=data_prefix, **kwargs)
