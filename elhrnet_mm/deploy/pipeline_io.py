"""Inputs, person boxes and drawing for :mod:`.pipeline` (used by
``tools/deployment/pose_demo.py``); numpy and OpenCV only.

* :func:`open_source`: an image file, a folder of images, a video file or a
  webcam index, as ``(key, BGR frame)`` pairs (key: the image's file name
  or the frame index);
* :func:`load_box_file`: person boxes per frame key from a JSON file;
* :func:`draw_pose`: MMPose-style drawing (boxes, skeleton links and
  keypoints in the dataset's colours, keypoints under a score threshold
  left out).
"""
import json
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np

#: File name extensions read as images / videos.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif',
                    '.tiff')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
#: Colour of drawn boxes (BGR) when the metadata has no colours.
BOX_COLOR = (0, 255, 0)
DEFAULT_COLOR = (255, 128, 0)


class SourceError(ValueError):
    """The input cannot be read (names the file)."""


class FrameSource:
    """Frames of an input: ``kind`` ('image', 'folder', 'video',
    'webcam'), ``length`` (None when unknown), ``fps`` (videos), iterable
    as ``(key, frame)``."""

    def __init__(self, kind: str, frames: Iterator[Tuple[str, np.ndarray]],
                 length: Optional[int], fps: Optional[float] = None,
                 release=None):
        self.kind, self.length, self.fps = kind, length, fps
        self._frames, self._release = frames, release

    def __iter__(self):
        return self._frames

    def close(self):
        if self._release is not None:
            self._release()


def read_image(path: str) -> np.ndarray:
    """A BGR image, or :class:`SourceError` naming the file."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f'cannot read image {path} (missing, empty or not '
                          'an image OpenCV decodes)')
    return image


def _video_frames(capture, name: str) -> Iterator[Tuple[str, np.ndarray]]:
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        yield str(index), frame
        index += 1
    if index == 0:
        raise SourceError(f'{name}: no frame could be read')


def open_source(source: str) -> FrameSource:
    """The frames of ``source``: an image, a folder of images (sorted by
    name), a video file, or a webcam index (digits).

    Raises:
        SourceError: naming the file when it does not exist, is not an
            image/video OpenCV reads, or is a folder without images.
    """
    if source.isdigit() and not osp.exists(source):
        capture = cv2.VideoCapture(int(source))
        if not capture.isOpened():
            raise SourceError(f'cannot open webcam {source}')
        return FrameSource('webcam', _video_frames(capture,
                                                   f'webcam {source}'),
                           None, release=capture.release)
    if osp.isdir(source):
        files = sorted(f for f in os.listdir(source)
                       if f.lower().endswith(IMAGE_EXTENSIONS))
        if not files:
            raise SourceError(f'folder {source} has no image file '
                              f'({", ".join(IMAGE_EXTENSIONS)})')
        return FrameSource(
            'folder', ((f, read_image(osp.join(source, f))) for f in files),
            len(files))
    if not osp.isfile(source):
        raise SourceError(f'input not found: {source} (give an image, a '
                          'folder of images, a video file or a webcam index)')
    if source.lower().endswith(VIDEO_EXTENSIONS):
        capture = cv2.VideoCapture(source)
        if not capture.isOpened():
            raise SourceError(f'cannot read video {source}')
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = capture.get(cv2.CAP_PROP_FPS) or None
        return FrameSource('video', _video_frames(capture, source),
                           count if count > 0 else None, fps,
                           release=capture.release)
    image = read_image(source)
    return FrameSource('image', iter([(osp.basename(source), image)]), 1)


def load_box_file(path: str) -> Dict[str, np.ndarray]:
    """Person boxes per frame from a JSON object ``{key: [[x1, y1, x2, y2
    (, score)], ...]}`` (key: an image's file name, or a video frame index
    from 0 as a string) as ``(N, 4)`` arrays (scores are not used); a frame
    without a key has no people.

    Raises:
        ValueError: naming the file and the key for an unreadable, empty or
            malformed file.
    """
    try:
        with open(path) as f:
            text = f.read()
    except OSError as error:
        raise ValueError(f'cannot read box file {path}: {error}') from error
    if not text.strip():
        raise ValueError(f'box file {path} is empty; expected a JSON object '
                         '{"<image name or frame index>": [[x1, y1, x2, y2],'
                         ' ...]}')
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ValueError(f'box file {path} is not valid JSON: '
                         f'{error}') from error
    if not isinstance(data, dict) or not data:
        raise ValueError(
            f'box file {path}: expected a non-empty JSON object '
            '{"<image name or frame index>": [[x1, y1, x2, y2], ...]}, got '
            f'{type(data).__name__} {str(data)[:60]}')
    boxes = {}
    for key, value in data.items():
        ok = isinstance(value, list) and all(
            isinstance(box, list) and len(box) in (4, 5) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                for v in box) for box in value)
        if not ok:
            raise ValueError(
                f'box file {path}: key {key!r} must hold a list of [x1, y1, '
                f'x2, y2] or [x1, y1, x2, y2, score] boxes, got '
                f'{str(value)[:80]}')
        boxes[str(key)] = np.array([box[:4] for box in value],
                                   np.float64).reshape(-1, 4)
    return boxes


def _bgr(color) -> Tuple[int, int, int]:
    r, g, b = (int(c) for c in color)
    return (b, g, r)


def draw_pose(image: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
              bboxes: np.ndarray, meta: dict, kpt_thr: float = 0.3,
              radius: int = 3, thickness: int = 2) -> np.ndarray:
    """Draw boxes, skeleton links and keypoints on ``image`` (in place, and
    returned) as MMPose's ``PoseLocalVisualizer`` does: a link when both
    its keypoints score above ``kpt_thr``, in the metadata's RGB colours.
    """
    links = meta.get('skeleton', [])
    link_colors = meta.get('skeleton_colors') or [DEFAULT_COLOR] * len(links)
    kpt_colors = meta.get('keypoint_colors') or (
        [DEFAULT_COLOR] * meta['num_keypoints'])
    for box in bboxes:
        x1, y1, x2, y2 = (int(round(v)) for v in box[:4])
        cv2.rectangle(image, (x1, y1), (x2, y2), BOX_COLOR, 1)
    for kpts, kpt_scores in zip(keypoints, scores):
        visible = kpt_scores > kpt_thr
        for (a, b), color in zip(links, link_colors):
            if visible[a] and visible[b]:
                cv2.line(image, tuple(int(v) for v in kpts[a]),
                         tuple(int(v) for v in kpts[b]), _bgr(color),
                         thickness, cv2.LINE_AA)
        for k, point in enumerate(kpts):
            if visible[k]:
                cv2.circle(image, tuple(int(v) for v in point), radius,
                           _bgr(kpt_colors[k]), -1, cv2.LINE_AA)
    return image


def draw_fps(image: np.ndarray, fps: float) -> np.ndarray:
    """Write ``FPS: x.x`` in the top-left corner (in place)."""
    text = f'FPS: {fps:.1f}'
    cv2.putText(image, text, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                (255, 255, 255), 1, cv2.LINE_AA)
    return image


def people_json(keypoints: np.ndarray, scores: np.ndarray,
                bboxes: np.ndarray) -> List[dict]:
    """The JSON records of one frame's people."""
    return [
        dict(bbox=[round(float(v), 2) for v in box[:4]],
             keypoints=[[round(float(x), 2), round(float(y), 2)]
                        for x, y in kpts],
             keypoint_scores=[round(float(s), 4) for s in kpt_scores])
        for kpts, kpt_scores, box in zip(keypoints, scores, bboxes)
    ]
