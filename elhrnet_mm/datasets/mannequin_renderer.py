"""Rendering of the synthetic people: colour-coded articulated mannequins.

One image at a time: :func:`render_image` draws a textured background, one
or more people and occluders, and returns the image with each person's COCO
keypoints (visibility from a per-pixel map of which part was drawn last) and
box. :mod:`.synthetic_coco` turns these into a COCO-format dataset; see
``docs/synthetic_data.md`` for the model.
"""
import colorsys
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['COCO_KEYPOINT_NAMES', 'COCO_SKELETON', 'render_image']

#: The 17 COCO person keypoints, in COCO's order.
COCO_KEYPOINT_NAMES: Tuple[str, ...] = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
    'right_knee', 'left_ankle', 'right_ankle')

#: COCO's person skeleton as pairs of 1-based keypoint indices.
COCO_SKELETON: Tuple[Tuple[int, int], ...] = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13),
    (6, 7), (6, 8), (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4),
    (3, 5), (4, 6), (5, 7))

_BBOX_MARGIN = 2.0  # pixels added around the drawn figure
_SUBPIXEL_BITS = 4  # cv2 drawing ``shift``: coordinates in 1/16 pixel
_SUBPIXEL = float(1 << _SUBPIXEL_BITS)
_OUTLINE = 1.0  # dark outline around every body shape, pixels

# --------------------------------------------------------------------------
# Appearance. Colours are BGR. The person's left side is drawn in warm
# colours, the right side in cool colours, identically in every image.
# --------------------------------------------------------------------------
_SIDE_COLOURS: Dict[str, Dict[str, Tuple[int, int, int]]] = {
    'left': dict(upper_arm=(0, 128, 255), forearm=(0, 215, 255),
                 thigh=(40, 40, 215), shin=(200, 60, 225),
                 foot=(30, 30, 110), ear=(60, 90, 240)),
    'right': dict(upper_arm=(255, 120, 0), forearm=(230, 225, 0),
                  thigh=(40, 190, 40), shin=(200, 40, 110),
                  foot=(110, 50, 20), ear=(230, 160, 60)),
}
_JOINT_COLOUR = (235, 235, 235)
_EYE_COLOUR = (25, 25, 25)
_NOSE_COLOUR = (40, 40, 150)


# --------------------------------------------------------------------------
# Part ids. Every drawn shape of a person carries one of these; a keypoint is
# fully visible (v=2) when the last shape drawn over it is one of its own.
# --------------------------------------------------------------------------
def _part_names() -> Tuple[str, ...]:
    """All part names of one mannequin, in a fixed order."""
    names = ['torso', 'neck', 'head', 'nose', 'left_eye', 'right_eye',
             'left_ear', 'right_ear']
    for side in ('left', 'right'):
        names += [f'{side}_{p}' for p in (
            'upper_arm', 'forearm', 'hand', 'shoulder_joint', 'elbow_joint',
            'wrist_joint', 'thigh', 'shin', 'foot', 'hip_joint', 'knee_joint',
            'ankle_joint')]
    return tuple(names)


_PARTS: Tuple[str, ...] = _part_names()
_PART_ID: Dict[str, int] = {name: i for i, name in enumerate(_PARTS)}
_PARTS_PER_PERSON = 64  # id stride between people in the owner map
_OCCLUDER_ID = 65535  # owner-map id of occluder rectangles


def _keypoint_owners() -> Tuple[Tuple[int, ...], ...]:
    """For each COCO keypoint, the part ids that may cover it and keep v=2."""
    owners = {
        'nose': ('head', 'nose'),
        'left_eye': ('head', 'left_eye'),
        'right_eye': ('head', 'right_eye'),
        'left_ear': ('head', 'left_ear'),
        'right_ear': ('head', 'right_ear'),
    }
    for side in ('left', 'right'):
        owners[f'{side}_shoulder'] = (
            'torso', f'{side}_upper_arm', f'{side}_shoulder_joint')
        owners[f'{side}_elbow'] = (
            f'{side}_upper_arm', f'{side}_forearm', f'{side}_elbow_joint')
        owners[f'{side}_wrist'] = (
            f'{side}_forearm', f'{side}_hand', f'{side}_wrist_joint')
        owners[f'{side}_hip'] = ('torso', f'{side}_thigh', f'{side}_hip_joint')
        owners[f'{side}_knee'] = (
            f'{side}_thigh', f'{side}_shin', f'{side}_knee_joint')
        owners[f'{side}_ankle'] = (
            f'{side}_shin', f'{side}_foot', f'{side}_ankle_joint')
    return tuple(
        tuple(_PART_ID[p] for p in owners[name])
        for name in COCO_KEYPOINT_NAMES)


_KEYPOINT_OWNERS = _keypoint_owners()
_KPT = {name: i for i, name in enumerate(COCO_KEYPOINT_NAMES)}


@dataclass
class _Shape:
    """One filled primitive of a figure, in image pixel coordinates.

    ``kind`` is ``'capsule'`` (``points``: (2, 2) segment ends, ``size``: full
    width), ``'disc'`` (``points``: (1, 2) centre, ``size``: diameter) or
    ``'polygon'`` (``points``: (N, 2), ``size`` unused). Every shape is drawn
    with a dark outline of ``_OUTLINE`` pixels.
    """

    kind: str
    points: np.ndarray
    size: float
    colour: Tuple[int, int, int]
    part: int


@dataclass
class _Figure:
    """A posed mannequin: keypoints (17, 2) in pixels and back-to-front shapes.
    """

    keypoints: np.ndarray
    shapes: List[_Shape]

    @cached_property
    def extent(self) -> np.ndarray:
        """Tight (x1, y1, x2, y2) box around every drawn pixel, unclipped."""
        lo = np.full(2, np.inf)
        hi = np.full(2, -np.inf)
        for shape in self.shapes:
            pad = _OUTLINE + (0.0 if shape.kind == 'polygon'
                              else shape.size / 2)
            lo = np.minimum(lo, shape.points.min(axis=0) - pad)
            hi = np.maximum(hi, shape.points.max(axis=0) + pad)
        return np.concatenate([lo, hi])


# --------------------------------------------------------------------------
# Sampling helpers
# --------------------------------------------------------------------------
def _uniform_mixture(rng: np.random.Generator,
                     parts: Sequence[Tuple[float, float, float]]) -> float:
    """Sample from a mixture of uniforms given as (weight, low, high)."""
    cumulative = np.cumsum([p[0] for p in parts])
    k = int(np.searchsorted(cumulative, rng.uniform() * cumulative[-1],
                            side='right'))
    return float(rng.uniform(parts[k][1], parts[k][2]))


def _hsv_colour(h: float, s: float, v: float) -> Tuple[int, int, int]:
    """HSV in [0, 1] to an 8-bit BGR tuple."""
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (int(round(b * 255)), int(round(g * 255)), int(round(r * 255)))


def _muted_colour(rng: np.random.Generator,
                  max_saturation: float = 0.35) -> Tuple[int, int, int]:
    """A low-saturation colour, used for backgrounds and occluders."""
    return _hsv_colour(rng.uniform(), rng.uniform(0.0, max_saturation),
                       rng.uniform(0.2, 0.9))


def _scaled(colour: Tuple[int, int, int],
            factor: float) -> Tuple[int, int, int]:
    """Colour with every channel multiplied by ``factor`` (clipped)."""
    return tuple(int(min(255, max(0, round(c * factor)))) for c in colour)


def _direction(angle_deg: float, down: np.ndarray,
               outward: np.ndarray) -> np.ndarray:
    """Unit vector ``angle_deg`` away from ``down`` towards ``outward``
    (two orthonormal (2,) vectors)."""
    a = math.radians(angle_deg)
    return math.cos(a) * down + math.sin(a) * outward


# --------------------------------------------------------------------------
# Figure model
# --------------------------------------------------------------------------
def _sample_figure(rng: np.random.Generator, height: float,
                   centre: np.ndarray) -> _Figure:
    """Pose, proportions and appearance of one mannequin.

    Args:
        rng: Random generator.
        height: Nominal standing height in pixels (head top to ankles).
        centre: (2,) pixel position of the mid-hip point.

    Returns:
        The figure. The mannequin always faces the camera, so its left side
        appears on the image right when it stands upright.
    """
    h = height
    width_factor = rng.uniform(0.8, 1.25)
    arm_len = rng.uniform(0.9, 1.1)
    leg_len = rng.uniform(0.9, 1.1)
    head_r = 0.065 * h * rng.uniform(0.85, 1.15)
    torso_len = 0.30 * h * rng.uniform(0.9, 1.1)
    neck_len = 0.035 * h
    shoulder_half = 0.11 * h * width_factor
    hip_half = 0.075 * h * width_factor
    thick = dict(upper_arm=0.050, forearm=0.042, thigh=0.066, shin=0.054)
    thick = {k: v * h * math.sqrt(width_factor) for k, v in thick.items()}
    length = dict(upper_arm=0.17 * h * arm_len, forearm=0.15 * h * arm_len,
                  thigh=0.24 * h * leg_len, shin=0.23 * h * leg_len)

    # Orientation: in-plane rotation of the whole body plus a torso lean.
    rotation = _uniform_mixture(rng, [(0.85, -25, 25), (0.15, -90, 90)])
    lean = rng.uniform(-12, 12)
    a = math.radians(rotation + lean)
    up = np.array([math.sin(a), -math.cos(a)])
    left = np.array([-up[1], up[0]])  # person's left = image right if upright
    down = -up

    skin = _hsv_colour(rng.uniform(0.03, 0.1), rng.uniform(0.3, 0.6),
                       rng.uniform(0.35, 0.95))
    cloth = _hsv_colour(rng.uniform(), rng.uniform(0.05, 0.45),
                        rng.uniform(0.3, 0.8))
    shade = rng.uniform(0.8, 1.1)

    mid_hip = np.asarray(centre, dtype=np.float64)
    neck_base = mid_hip + torso_len * up
    kpts = np.zeros((17, 2))
    kpts[_KPT['left_shoulder']] = neck_base + shoulder_half * left
    kpts[_KPT['right_shoulder']] = neck_base - shoulder_half * left
    kpts[_KPT['left_hip']] = mid_hip + hip_half * left
    kpts[_KPT['right_hip']] = mid_hip - hip_half * left

    # Head, tilted relative to the torso, face turned slightly (yaw shift).
    tilt = math.radians(rng.uniform(-25, 25))
    head_up = np.array([math.cos(tilt) * up[0] - math.sin(tilt) * up[1],
                        math.sin(tilt) * up[0] + math.cos(tilt) * up[1]])
    head_left = np.array([-head_up[1], head_up[0]])
    head_c = neck_base + (neck_len + head_r) * head_up
    yaw = rng.uniform(-0.25, 0.25) * head_r
    kpts[_KPT['nose']] = head_c - 0.22 * head_r * head_up + yaw * head_left
    for side, sign in (('left', 1.0), ('right', -1.0)):
        kpts[_KPT[f'{side}_eye']] = (head_c + 0.15 * head_r * head_up +
                                     (sign * 0.4 * head_r + yaw) * head_left)
        kpts[_KPT[f'{side}_ear']] = (head_c + 0.05 * head_r * head_up +
                                     sign * 1.02 * head_r * head_left)

    def pid(name: str) -> int:
        return _PART_ID[name]

    torso_pad = 0.3 * thick['upper_arm']
    torso = _Shape('polygon', np.stack([
        neck_base + (shoulder_half + torso_pad) * left + torso_pad * up,
        neck_base - (shoulder_half + torso_pad) * left + torso_pad * up,
        mid_hip - (hip_half + torso_pad) * left - torso_pad * up,
        mid_hip + (hip_half + torso_pad) * left - torso_pad * up,
    ]), 0.0, cloth, pid('torso'))
    neck = _Shape('capsule', np.stack([neck_base, head_c]), 0.9 * head_r,
                  skin, pid('neck'))
    head = [
        _Shape('disc', kpts[_KPT['left_ear']][None], 0.55 * head_r,
               _SIDE_COLOURS['left']['ear'], pid('left_ear')),
        _Shape('disc', kpts[_KPT['right_ear']][None], 0.55 * head_r,
               _SIDE_COLOURS['right']['ear'], pid('right_ear')),
        _Shape('disc', head_c[None], 2 * head_r, skin, pid('head')),
        _Shape('disc', kpts[_KPT['left_eye']][None], 0.3 * head_r,
               _EYE_COLOUR, pid('left_eye')),
        _Shape('disc', kpts[_KPT['right_eye']][None], 0.3 * head_r,
               _EYE_COLOUR, pid('right_eye')),
        _Shape('disc', kpts[_KPT['nose']][None], 0.3 * head_r, _NOSE_COLOUR,
               pid('nose')),
    ]

    def limb(side: str, sign: float, joints: Tuple[str, str, str],
             segments: Tuple[str, str], angle: float,
             bend: float) -> List[_Shape]:
        """Place the joints of one arm or leg and return its shapes: two
        capsules, a hand (arm) or foot (leg) and three ball joints.

        ``joints`` are (root, middle, end) keypoint names without the side,
        e.g. ('shoulder', 'elbow', 'wrist'); ``angle`` (of the first segment)
        and ``bend`` (of the second relative to the first) are in degrees
        from the torso's down direction, positive away from the body.
        """
        colours = _SIDE_COLOURS[side]
        outward = sign * left
        root = kpts[_KPT[f'{side}_{joints[0]}']]
        dir1 = _direction(angle, down, outward)
        dir2 = _direction(angle + bend, down, outward)
        lengths = [length[seg] * _uniform_mixture(  # random foreshortening
            rng, [(0.7, 0.9, 1.05), (0.3, 0.6, 0.9)]) for seg in segments]
        mid = root + lengths[0] * dir1
        end = mid + lengths[1] * dir2
        kpts[_KPT[f'{side}_{joints[1]}']] = mid
        kpts[_KPT[f'{side}_{joints[2]}']] = end
        width1, width2 = thick[segments[0]], thick[segments[1]]
        if joints[0] == 'shoulder':
            piece = _Shape('disc', (end + 0.5 * width2 * dir2)[None],
                           1.35 * width2, skin, pid(f'{side}_hand'))
        else:
            across = np.array([-dir2[1], dir2[0]])
            if across @ outward < 0:
                across = -across
            toe = end + 0.09 * h * _direction(rng.uniform(50, 90), dir2,
                                              across)
            piece = _Shape('capsule', np.stack([end, toe]), 0.85 * width2,
                           colours['foot'], pid(f'{side}_foot'))
        joint = 0.62 * width1
        return [
            _Shape('capsule', np.stack([root, mid]), width1,
                   _scaled(colours[segments[0]], shade),
                   pid(f'{side}_{segments[0]}')),
            _Shape('capsule', np.stack([mid, end]), width2,
                   _scaled(colours[segments[1]], shade),
                   pid(f'{side}_{segments[1]}')),
            piece,
            _Shape('disc', root[None], 2 * joint, _JOINT_COLOUR,
                   pid(f'{side}_{joints[0]}_joint')),
            _Shape('disc', mid[None], 2 * joint, _JOINT_COLOUR,
                   pid(f'{side}_{joints[1]}_joint')),
            _Shape('disc', end[None], 1.7 * joint, _JOINT_COLOUR,
                   pid(f'{side}_{joints[2]}_joint')),
        ]

    arms, legs = {}, {}
    for side, sign in (('left', 1.0), ('right', -1.0)):
        arms[side] = limb(
            side, sign, ('shoulder', 'elbow', 'wrist'),
            ('upper_arm', 'forearm'),
            _uniform_mixture(rng, [(0.55, -35, 60), (0.3, 60, 120),
                                   (0.15, 120, 175)]),
            _uniform_mixture(rng, [(0.5, -30, 30), (0.35, -150, -30),
                                   (0.15, 30, 120)]))
        legs[side] = limb(
            side, sign, ('hip', 'knee', 'ankle'), ('thigh', 'shin'),
            _uniform_mixture(rng, [(0.8, -15, 35), (0.2, 35, 100)]),
            _uniform_mixture(rng, [(0.6, -20, 20), (0.25, -100, -20),
                                   (0.15, 20, 90)]))

    # Back-to-front order: arms behind the body, torso, head, legs, arms in
    # front. Which leg/arm is nearer the camera is random.
    arm_order = list(rng.permutation(['left', 'right']))
    leg_order = list(rng.permutation(['left', 'right']))
    behind = [s for s in arm_order if rng.uniform() < 0.2]
    shapes: List[_Shape] = []
    for s in behind:
        shapes += arms[s]
    shapes += [torso, neck] + head
    for s in leg_order:
        shapes += legs[s]
    for s in arm_order:
        if s not in behind:
            shapes += arms[s]
    return _Figure(kpts, shapes)


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------
def _fixed(points: np.ndarray) -> np.ndarray:
    """Pixel coordinates to cv2's fixed-point integers (``shift`` bits)."""
    return np.round(np.asarray(points) * _SUBPIXEL).astype(np.int32)


def _draw_shape(image: np.ndarray, owner: np.ndarray, shape: _Shape,
                owner_id: int) -> None:
    """Draw ``shape`` (outline, then fill) into the BGR image and its id
    into the (H, W) uint16 owner map."""
    pts = _fixed(shape.points)
    outline = _scaled(shape.colour, 0.45)
    sb = _SUBPIXEL_BITS
    if shape.kind == 'polygon':
        cv2.fillPoly(image, [pts], shape.colour, cv2.LINE_AA, sb)
        cv2.polylines(image, [pts], True, outline, 1, cv2.LINE_AA, sb)
        cv2.fillPoly(owner, [pts], owner_id, cv2.LINE_8, sb)
        cv2.polylines(owner, [pts], True, owner_id, 1, cv2.LINE_8, sb)
        return
    if shape.kind == 'disc':
        centre = (int(pts[0, 0]), int(pts[0, 1]))
        radius = shape.size / 2
        outer = int(round((radius + _OUTLINE) * _SUBPIXEL))
        inner = int(round(radius * _SUBPIXEL))
        cv2.circle(image, centre, outer, outline, -1, cv2.LINE_AA, sb)
        cv2.circle(image, centre, inner, shape.colour, -1, cv2.LINE_AA, sb)
        cv2.circle(owner, centre, outer, owner_id, -1, cv2.LINE_8, sb)
        return
    p1 = (int(pts[0, 0]), int(pts[0, 1]))
    p2 = (int(pts[1, 0]), int(pts[1, 1]))
    outer = max(1, int(round(shape.size + 2 * _OUTLINE)))
    inner = max(1, int(round(shape.size)))
    cv2.line(image, p1, p2, outline, outer, cv2.LINE_AA, sb)
    cv2.line(image, p1, p2, shape.colour, inner, cv2.LINE_AA, sb)
    cv2.line(owner, p1, p2, owner_id, outer, cv2.LINE_8, sb)


def _background(rng: np.random.Generator, width: int,
                height: int) -> np.ndarray:
    """Textured, low-saturation background of shape (H, W, 3), float32.

    A linear gradient between two muted colours, coarse and medium-scale
    (mostly grey) noise and a few random muted shapes (rectangles, circles,
    lines).
    """
    c0 = np.array(_muted_colour(rng), np.float32)
    c1 = np.array(_muted_colour(rng), np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    xs = np.arange(width, dtype=np.float32)[None]
    ys = np.arange(height, dtype=np.float32)[:, None]
    t = xs * math.cos(angle) + ys * math.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    image = c0 * (1 - t[..., None]) + c1 * t[..., None]
    for cells in ((3, 10), (12, 40)):  # coarse and medium-scale noise
        grid_shape = (rng.integers(*cells), rng.integers(*cells))
        grid = rng.normal(0, rng.uniform(4, 25), grid_shape + (1, )) + \
            rng.normal(0, rng.uniform(0, 8), grid_shape + (3, ))
        image += cv2.resize(grid.astype(np.float32), (width, height),
                            interpolation=cv2.INTER_CUBIC)
    image = np.clip(image, 0, 255).astype(np.uint8)
    scale = min(width, height)
    for _ in range(rng.integers(3, 12)):
        colour = _muted_colour(rng, 0.4)
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(scale // 20, scale // 4) + 1)
        kind = rng.integers(3)
        if kind == 0:
            cv2.rectangle(image, (x, y), (x + size, y + int(
                rng.integers(scale // 20, scale // 4) + 1)), colour, -1)
        elif kind == 1:
            cv2.circle(image, (x, y), size // 2, colour, -1, cv2.LINE_AA)
        else:
            a = rng.uniform(0, 2 * math.pi)
            end = (int(x + 2 * size * math.cos(a)),
                   int(y + 2 * size * math.sin(a)))
            cv2.line(image, (x, y), end, colour, int(rng.integers(1, 4)),
                     cv2.LINE_AA)
    return image


def _occluder(rng: np.random.Generator, width: int,
              height: int) -> Tuple[np.ndarray, np.ndarray]:
    """A random rotated, textured rectangle.

    Returns:
        (polygon (4, 2) float pixel corners, texture (H, W, 3) uint8) where
        only the polygon's inside of the texture is used.
    """
    w = rng.uniform(0.08, 0.3) * width
    h = rng.uniform(0.08, 0.3) * height
    centre = (float(rng.uniform(0, width)), float(rng.uniform(0, height)))
    angle = float(_uniform_mixture(rng, [(0.6, 0, 0), (0.4, -45, 45)]))
    corners = cv2.boxPoints((centre, (w, h), angle)).astype(np.float64)
    base = np.array(_muted_colour(rng, 0.5), np.float32)
    other = np.array(_muted_colour(rng, 0.5), np.float32)
    xs = np.arange(width, dtype=np.float32)[None]
    ys = np.arange(height, dtype=np.float32)[:, None]
    period = rng.uniform(4, 14)
    if rng.uniform() < 0.5:  # stripes
        a = rng.uniform(0, math.pi)
        mask = (np.floor((xs * math.cos(a) + ys * math.sin(a)) / period)
                % 2).astype(np.float32)
    else:  # checker board
        mask = ((np.floor(xs / period) + np.floor(ys / period)) % 2).astype(
            np.float32)
    texture = base * (1 - mask[..., None]) + other * mask[..., None]
    return corners, texture.astype(np.uint8)


def render_image(rng: np.random.Generator, width: int, height: int,
                  max_people: int) -> Tuple[np.ndarray, List[dict]]:
    """Render one image and annotate its people.

    Returns:
        (image (H, W, 3) uint8 BGR, list of per-person dicts with
        ``keypoints`` (17, 3) float [x, y, v] in COCO convention and
        ``bbox`` (4,) float [x, y, w, h]). People are listed in drawing order;
        people without any labelled keypoint are left out.
    """
    image = _background(rng, width, height)
    owner = np.zeros((height, width), np.uint16)

    num_people = int(rng.choice(np.arange(1, max_people + 1)))
    big = 1.0 if num_people == 1 else 0.85
    figures: List[_Figure] = []
    for _ in range(num_people):
        for _attempt in range(20):
            if rng.uniform() < 0.7:
                centre = rng.uniform([0.15, 0.3], [0.85, 0.7])
            else:
                centre = rng.uniform([0.0, 0.05], [1.0, 0.95])
            fig = _sample_figure(rng, rng.uniform(0.35, big) * height,
                                 centre * [width, height])
            if all(_box_iou(fig.extent, f.extent) < 0.2
                   for f in figures):
                figures.append(fig)
                break
    # Smaller (farther) people first, so nearer ones occlude them.
    figures.sort(key=lambda f: f.extent[3] - f.extent[1])
    for k, fig in enumerate(figures):
        for shape in fig.shapes:
            _draw_shape(image, owner, shape,
                        1 + k * _PARTS_PER_PERSON + shape.part)

    inside = [_inside_image(f.keypoints, width, height) for f in figures]
    occluders = int(rng.choice([0, 1, 2], p=[0.55, 0.35, 0.1]))
    for _ in range(occluders):
        for _attempt in range(10):
            corners, texture = _occluder(rng, width, height)
            if all(_covered_fraction(corners, f.keypoints[m]) <= 0.5
                   for f, m in zip(figures, inside)):
                mask = np.zeros((height, width), np.uint8)
                cv2.fillPoly(mask, [_fixed(corners)], 1, cv2.LINE_8,
                             _SUBPIXEL_BITS)
                image[mask > 0] = texture[mask > 0]
                cv2.polylines(image, [_fixed(corners)], True, (30, 30, 30),
                              1, cv2.LINE_AA, _SUBPIXEL_BITS)
                owner[mask > 0] = _OCCLUDER_ID
                break

    image = _photometric(rng, image)
    people = []
    for k, (fig, in_img) in enumerate(zip(figures, inside)):
        kpts = np.zeros((17, 3))
        for j in np.flatnonzero(in_img):
            x, y = fig.keypoints[j]
            top = int(owner[int(round(y)), int(round(x))])
            own = {1 + k * _PARTS_PER_PERSON + p for p in _KEYPOINT_OWNERS[j]}
            kpts[j] = (x, y, 2 if top in own else 1)
        if not kpts[:, 2].any():
            continue
        x1, y1, x2, y2 = fig.extent + [-_BBOX_MARGIN, -_BBOX_MARGIN,
                                         _BBOX_MARGIN, _BBOX_MARGIN]
        x1, x2 = np.clip([x1, x2], 0, width - 1)
        y1, y2 = np.clip([y1, y2], 0, height - 1)
        people.append(dict(keypoints=kpts,
                           bbox=np.array([x1, y1, x2 - x1, y2 - y1])))
    return image, people


def _photometric(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Global contrast/brightness change, optional blur and pixel noise."""
    out = image.astype(np.float32) * rng.uniform(0.8, 1.15) + rng.uniform(
        -20, 20)
    if rng.uniform() < 0.3:
        out = cv2.GaussianBlur(out, (3, 3), 0)
    out += rng.uniform(0, 6) * rng.standard_normal(out.shape, np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _inside_image(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N,) bool: points within [0, W-1] x [0, H-1] (pixel centres)."""
    return ((points[:, 0] >= 0) & (points[:, 0] <= width - 1) &
            (points[:, 1] >= 0) & (points[:, 1] <= height - 1))


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (x1, y1, x2, y2) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) -
             inter)
    return inter / union if union > 0 else 0.0


def _covered_fraction(polygon: np.ndarray, points: np.ndarray) -> float:
    """Fraction of ``points`` (N, 2) inside ``polygon`` (4, 2); 0 if N=0."""
    if len(points) == 0:
        return 0.0
    contour = polygon.astype(np.float32).reshape(-1, 1, 2)
    inside = [cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0
              for x, y in points]
    return float(np.mean(inside))


