"""Keypoints of the people in images, a video or a webcam, from an exported
model in ONNX Runtime or OpenVINO (no PyTorch/MMPose inference).

    python tools/deployment/pose_demo.py INPUT --model MODEL.onnx
        [--runtime onnxruntime|openvino] [--metadata MODEL.pose.json]
        [--boxes BOXES.json | --det-config CFG --det-checkpoint CKPT]
        [--flip-test | --no-flip-test] [--out-dir DIR] [--json FILE]
        [--show] [--kpt-thr 0.3] [--threads N]

INPUT: an image, a folder of images, a video file or a webcam index (0).
Person boxes: from ``--boxes`` (JSON ``{"<image name or frame index>":
[[x1, y1, x2, y2(, score)], ...]}``), from an MMDetection person detector
(``--det-config``/``--det-checkpoint``; needs mmdet and the weights), or,
by default, the whole frame. ``--out-dir`` gets the drawn images (or the
drawn video, ``<name>.mp4``) with the FPS on them; ``--json`` gets the
keypoints of every frame. See docs/deployment.md.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Optional, Sequence

import cv2
import numpy as np

from elhrnet_mm.deploy.pipeline import (MODEL_CLASSES, BoxError,
                                        MetadataError, MissingRuntimeError,
                                        TopdownPosePipeline)
from elhrnet_mm.deploy.pipeline_io import (SourceError, draw_fps, draw_pose,
                                           load_box_file, open_source,
                                           people_json)

DETECTOR_HINT = ('the person detector needs mmdet (pip install "mmdet>=3,<4"'
                 ') and the weights of an MMDetection detector '
                 '(--det-config CONFIG --det-checkpoint FILE)')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Top-down pose estimation with an exported model')
    parser.add_argument('input', help='image, folder of images, video file '
                        'or webcam index')
    parser.add_argument('--model', required=True,
                        help='.onnx (or OpenVINO .xml) file')
    parser.add_argument('--runtime', default='onnxruntime',
                        choices=sorted(MODEL_CLASSES))
    parser.add_argument('--metadata', help='metadata file; default '
                        '<model>.pose.json')
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument('--boxes', help='JSON file of person boxes per frame')
    boxes.add_argument('--det-config', help='MMDetection detector config')
    parser.add_argument('--det-checkpoint', help='MMDetection weights')
    parser.add_argument('--det-score-thr', type=float, default=0.5)
    flip = parser.add_mutually_exclusive_group()
    flip.add_argument('--flip-test', dest='flip_test', action='store_true',
                      default=None)
    flip.add_argument('--no-flip-test', dest='flip_test',
                      action='store_false')
    parser.add_argument('--out-dir', help='folder for drawn images / video')
    parser.add_argument('--json', help='file for the keypoints per frame')
    parser.add_argument('--show', action='store_true',
                        help='show the frames in a window (q quits)')
    parser.add_argument('--kpt-thr', type=float, default=0.3)
    parser.add_argument('--threads', type=int, help='runtime threads')
    args = parser.parse_args(argv)
    if args.det_config and not args.det_checkpoint:
        parser.error('--det-config needs --det-checkpoint; ' + DETECTOR_HINT)
    return args


class PersonDetector:
    """MMDetection's detector: person boxes (class 0) over a score."""

    def __init__(self, config: str, checkpoint: str, score_thr: float):
        try:
            from mmdet.apis import inference_detector, init_detector
        except ImportError as error:
            raise SystemExit(f'error: {error}; {DETECTOR_HINT}')
        if not osp.isfile(checkpoint):
            raise SystemExit(f'error: detector weights not found: '
                             f'{checkpoint}; {DETECTOR_HINT}')
        self.model = init_detector(config, checkpoint, device='cpu')
        self.infer, self.score_thr = inference_detector, score_thr

    def __call__(self, image: np.ndarray) -> np.ndarray:
        pred = self.infer(self.model, image).pred_instances.cpu().numpy()
        keep = (pred.labels == 0) & (pred.scores > self.score_thr)
        return np.concatenate([pred.bboxes[keep], pred.scores[keep, None]],
                              axis=1)


def progress(source, enabled: bool):
    """A tqdm bar over the source's frames (files only)."""
    if not enabled:
        return iter(source)
    from tqdm import tqdm
    return tqdm(source, total=source.length, unit='frame')


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        pipeline = TopdownPosePipeline(
            args.model, args.runtime, args.metadata, args.flip_test,
            args.threads)
        box_file = load_box_file(args.boxes) if args.boxes else None
        source = open_source(args.input)
    except (MetadataError, MissingRuntimeError, SourceError, ValueError,
            FileNotFoundError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    detector = (PersonDetector(args.det_config, args.det_checkpoint,
                               args.det_score_thr)
                if args.det_config else None)
    if args.out_dir:
        os.makedirs(args.out_dir, exist_ok=True)
    writer, video_path, records, fps = None, None, [], 0.
    try:
        for key, frame in progress(source, source.kind != 'webcam'):
            start = time.perf_counter()
            if box_file is not None:
                boxes = box_file.get(key, np.zeros((0, 4)))
            elif detector is not None:
                boxes = detector(frame)
            else:
                boxes = None
            try:
                keypoints, scores, used = pipeline(frame, boxes)
            except BoxError as error:
                print(f'error: {args.boxes or "detector"}: frame {key!r}: '
                      f'{error}', file=sys.stderr)
                return 2
            elapsed = time.perf_counter() - start
            fps = 1. / elapsed if fps == 0 else 0.9 * fps + 0.1 / elapsed
            records.append(dict(frame=key,
                                people=people_json(keypoints, scores, used)))
            if not (args.out_dir or args.show):
                continue
            drawn = draw_fps(
                draw_pose(frame, keypoints, scores, used, pipeline.meta,
                          args.kpt_thr), fps)
            if args.out_dir and source.kind in ('image', 'folder'):
                cv2.imwrite(osp.join(args.out_dir, key), drawn)
            elif args.out_dir:
                if writer is None:
                    name = ('webcam' if source.kind == 'webcam' else
                            osp.splitext(osp.basename(args.input))[0])
                    video_path = osp.join(args.out_dir, f'{name}.mp4')
                    writer = cv2.VideoWriter(
                        video_path + '.part.mp4',
                        cv2.VideoWriter_fourcc(*'mp4v'), source.fps or 25.,
                        (drawn.shape[1], drawn.shape[0]))
                writer.write(drawn)
            if args.show:
                cv2.imshow('pose_demo', drawn)
                if cv2.waitKey(1) & 0xFF == ord('q'):
                    break
    except SourceError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    finally:
        source.close()
        if writer is not None:
            writer.release()
    if video_path is not None:
        os.replace(video_path + '.part.mp4', video_path)
    if args.json:
        tmp = f'{args.json}.tmp-{os.getpid()}'
        with open(tmp, 'w') as f:
            json.dump(dict(model=args.model, runtime=args.runtime,
                           flip_test=pipeline.flip_test,
                           keypoint_names=pipeline.meta['keypoint_names'],
                           frames=records), f)
        os.replace(tmp, args.json)
    people = sum(len(r['people']) for r in records)
    saved = f', json: {args.json}' if args.json else ''
    print(f'{len(records)} frame(s), {people} person(s), '
          f'{fps:.1f} FPS (smoothed){saved}')
    return 0
