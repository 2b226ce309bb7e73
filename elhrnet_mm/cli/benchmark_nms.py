"""Speed and AP of pose NMS methods: MobilePoseNet Table 7's comparison.

    python tools/analysis_tools/benchmark_nms.py [--sizes 100 1000 5000]
        [--repeats 5] [--ann-file ANN (--results RES.json | --synthetic)]
        [--json]

Speed: one image with N candidate poses (``N // 10`` people, ten jittered
candidates each, COCO's 17 keypoints, random scores; seed 0) for each
``--sizes`` N; MMPose's ``oks_nms`` and ``soft_oks_nms`` (as ``CocoMetric``
calls them, OKS threshold 0.9) against parallel OKS-NMS in NumPy and in
torch (float32 on the CPU). Runs are interleaved, one thread
(``torch.set_num_threads(1)``), and the median of ``--repeats`` is
reported with the speed-up over ``oks_nms``.

AP: ``--results`` is a COCO keypoint results file of *all* candidate poses
(before NMS), as MMPose's ``CocoMetric`` writes it with
``nms_mode='none'`` and ``outfile_prefix`` set; ``--ann-file`` the matching
COCO annotations. Each method runs per image (poses grouped by
``image_id``; area from ``bbox`` when present, else from the keypoints'
extent, as ``CocoMetric`` does) and COCO keypoint AP is computed the way
``CocoMetric`` computes it. ``--synthetic`` makes such a results file from
the ground truth instead (every person with keypoint noise plus jittered,
lower-scored duplicates; see :func:`synthetic_results`).
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.evaluation.functional import oks_nms, soft_oks_nms
from mmpose.evaluation.metrics import CocoMetric

from elhrnet_mm.evaluation import (COCO_SIGMAS, parallel_oks_nms,
                                   parallel_oks_nms_scores)
from elhrnet_mm.utils.mmpose_models import mmpose_config_path

#: OKS threshold of MMPose's methods (``CocoMetric``'s default ``nms_thr``).
NMS_THR = 0.9
#: Candidates per person in the speed benchmark.
PER_PERSON = 10


def nms_methods(sigmas: np.ndarray) -> Dict[str, Callable]:
    """name -> f(kpts_db) returning (keep, scores or None) for AP."""
    return {
        'none': lambda db: (np.arange(len(db)), None),
        'oks_nms': lambda db: (oks_nms(db, NMS_THR, sigmas=sigmas), None),
        'soft_oks_nms':
        lambda db: (soft_oks_nms(db, NMS_THR, sigmas=sigmas), None),
        'parallel_oks': lambda db: parallel_oks_nms(db, sigmas=sigmas),
    }


def candidates(n: int, seed: int = 0) -> List[dict]:
    """``n`` candidate poses of one image in ``kpts_db`` format."""
    rng = np.random.default_rng(seed)
    people = max(1, -(-n // PER_PERSON))
    centre = rng.uniform(0, 4000, (people, 1, 2)) + rng.normal(
        0, 40, (people, 17, 2))
    kpts = np.repeat(centre, PER_PERSON, 0)[:n] + rng.normal(
        0, 4, (n, 17, 2))
    conf = rng.uniform(0.3, 1, (n, 17, 1))
    return [
        dict(keypoints=k, score=float(s), area=float(a)) for k, s, a in zip(
            np.concatenate([kpts, conf], -1), rng.uniform(0, 1, n),
            rng.uniform(4000, 12000, n))
    ]


def speed(sizes: Sequence[int], repeats: int) -> List[dict]:
    """Median seconds per method and size, interleaved, one thread."""
    torch.set_num_threads(1)
    rows = []
    for n in sizes:
        db = candidates(n)
        k = np.stack([d['keypoints'] for d in db])
        tensors = [
            torch.as_tensor(x, dtype=torch.float32)
            for x in (k[..., :2], [d['score'] for d in db],
                      [d['area'] for d in db])
        ]
        runs = {
            'oks_nms': lambda: oks_nms(db, NMS_THR),
            'soft_oks_nms': lambda: soft_oks_nms(db, NMS_THR),
            'parallel_oks (numpy)': lambda: parallel_oks_nms(db),
            'parallel_oks (torch)':
            lambda: parallel_oks_nms_scores(*tensors),
        }
        times = defaultdict(list)
        for _ in range(repeats):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        base = statistics.median(times['oks_nms'])
        for name, values in times.items():
            median = statistics.median(values)
            rows.append(dict(candidates=n, method=name, seconds=median,
                             speedup_vs_oks_nms=base / median))
    return rows


def synthetic_results(ann_file: str,
                      duplicates: int = 3,
                      seed: int = 0) -> List[dict]:
    """COCO keypoint results made from ground truth, before any NMS.

    Every person with keypoints gets one pose (keypoint noise 2% of the box
    size, score in [0.5, 1]) and ``duplicates`` more with 4-8% noise and
    scores 0.5-0.9 times the first, like the several detector boxes a person
    usually has; each pose keeps the person's box.
    """
    rng = np.random.default_rng(seed)
    results = []
    for ann in json.load(open(ann_file))['annotations']:
        if ann.get('num_keypoints', 0) == 0:
            continue
        gt = np.array(ann['keypoints'], dtype=float).reshape(-1, 3)[:, :2]
        size = max(ann['bbox'][2], ann['bbox'][3], 1.0)
        score = rng.uniform(0.5, 1.0)
        for d in range(duplicates + 1):
            noise = 0.02 if d == 0 else rng.uniform(0.04, 0.08)
            kpts = gt + rng.normal(0, noise * size, gt.shape)
            conf = rng.uniform(0.3, 1.0, (len(gt), 1))
            results.append(dict(
                image_id=ann['image_id'], category_id=1,
                keypoints=np.concatenate([kpts, conf], 1).ravel().tolist(),
                score=float(score * (1 if d == 0 else rng.uniform(.5, .9))),
                bbox=list(ann['bbox'])))
    return results


def _coco_metric(ann_file: str) -> CocoMetric:
    metric = CocoMetric(ann_file=ann_file)
    cfg = Config.fromfile(mmpose_config_path('_base_/datasets/coco.py'))
    metric.dataset_meta = parse_pose_metainfo(cfg.dataset_info)
    return metric


def average_precision(ann_file: str, results: List[dict]) -> List[dict]:
    """COCO keypoint AP and per-image NMS time of each method."""
    metric = _coco_metric(ann_file)
    by_image = defaultdict(list)
    for r in results:
        kpts = np.array(r['keypoints'], dtype=float).reshape(-1, 3)
        if 'bbox' in r:
            area = r['bbox'][2] * r['bbox'][3]
        else:
            extent = kpts[:, :2].max(0) - kpts[:, :2].min(0)
            area = extent[0] * extent[1]
        by_image[r['image_id']].append(dict(
            img_id=r['image_id'], category_id=r.get('category_id', 1),
            keypoints=kpts, score=float(r['score']), area=float(area)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, method in nms_methods(
                metric.dataset_meta['sigmas']).items():
            kept, seconds = {}, 0.0
            for img_id, db in by_image.items():
                start = time.perf_counter()
                keep, scores = method(db)
                seconds += time.perf_counter() - start
                kept[img_id] = [
                    dict(db[i], score=db[i]['score'] if scores is None else
                         float(scores[i])) for i in keep
                ]
            prefix = osp.join(tmp, name)
            metric.results2json(kept, prefix)
            stats = dict(metric._do_python_keypoint_eval(prefix))
            rows.append(dict(method=name, AP=stats['AP'],
                             AP50=stats['AP .5'], AR=stats['AR'],
                             poses_kept=sum(map(len, kept.values())),
                             nms_seconds=seconds))
    return rows


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Speed and COCO AP of oks_nms, soft_oks_nms and '
        'parallel OKS-NMS')
    parser.add_argument('--sizes', type=int, nargs='*',
                        default=[100, 1000, 5000],
                        help='candidate poses per image for the speed test '
                        '(none: skip it)')
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed runs per method and size (median)')
    parser.add_argument('--ann-file', help='COCO keypoint annotations')
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--results', help='COCO keypoint results before NMS')
    source.add_argument('--synthetic', action='store_true',
                        help='make the results from --ann-file ground truth')
    parser.add_argument('--json', action='store_true',
                        help='print one JSON object on stdout')
    args = parser.parse_args(argv)
    if min(args.sizes, default=1) < 1 or args.repeats < 1:
        parser.error('--sizes and --repeats take positive integers')
    if (args.results or args.synthetic) and not args.ann_file:
        parser.error('--results/--synthetic need --ann-file')
    if args.ann_file and not (args.results or args.synthetic):
        parser.error('--ann-file needs --results or --synthetic')
    for path in (args.ann_file, args.results):
        if path and not osp.isfile(path):
            parser.error(f'file not found: {path}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    out = dict(speed=speed(args.sizes, args.repeats) if args.sizes else [])
    if args.ann_file:
        results = (json.load(open(args.results)) if args.results else
                   synthetic_results(args.ann_file))
        stdout = sys.stdout
        sys.stdout = sys.stderr  # COCOeval prints its tables
        try:
            out['ap'] = average_precision(args.ann_file, results)
        finally:
            sys.stdout = stdout
    if args.json:
        print(json.dumps(out))
        return out
    for row in out['speed']:
        print(f"{row['candidates']:>6} candidates  {row['method']:<22}"
              f"{row['seconds'] * 1e3:>10.2f} ms  "
              f"x{row['speedup_vs_oks_nms']:.1f} vs oks_nms")
    for row in out.get('ap', []):
        print(f"{row['method']:<14} AP {row['AP']:.4f}  AP50 "
              f"{row['AP50']:.4f}  AR {row['AR']:.4f}  kept "
              f"{row['poses_kept']}  NMS {row['nms_seconds'] * 1e3:.1f} ms")
    return out
