"""Parallel OKS-NMS: Matrix-NMS decay on the pairwise OKS matrix of poses.

MobilePoseNet ("Designing Compact Convolutional Filters for
Lightweight Human Pose Estimation", Wireless Communications and Mobile
Computing 2021, article 1333250), Sec. 3.3 and Algorithm 1, which applies
Matrix NMS (Wang et al., SOLOv2, NeurIPS 2020) to poses, with the object
keypoint similarity (OKS) in place of mask IoU:

1. sort the N poses by score, descending (stable: ties keep input order);
2. ``oks[i, j]``, the OKS of poses i and j (:func:`oks_matrix`), kept for
   ``i < j`` only (``triu(oks, 1)``: row i has the higher score);
3. compensation ``comp_i = max_{k < i} oks[k, i]``, how much pose i is
   suppressed itself;
4. decay of pose j = minimum over i of
   ``gaussian: exp(-sigma * (oks_ij^2 - comp_i^2))`` or
   ``linear: (1 - oks_ij) / (1 - comp_i)``; row 0 has ``comp_0 = 0``, so
   every decay is <= 1 and the top pose's is exactly 1;
5. new score = score * decay; keep the poses whose new score reaches a
   threshold, best first.

Every step is a matrix operation; there is no Python loop over poses (the
OKS matrix is filled in blocks of rows only to bound memory, and only its
upper triangle is computed for the NMS). One code path
serves NumPy arrays (computed in float64, like MMPose) and torch tensors (in
their floating dtype, on their device): the functions dispatch on the type
of ``keypoints``. :func:`parallel_oks_nms` takes MMPose's per-image
``kpts_db`` list like :func:`mmpose.evaluation.functional.oks_nms`.

The OKS is MMPose's :func:`~mmpose.evaluation.functional.oks_iou`:
``e_k = d_k^2 / (2 sigma_k)^2 / ((a_i + a_j) / 2 + eps) / 2`` and
``OKS = mean_k exp(-e_k)``, over the keypoints whose confidence exceeds
``vis_thr`` in both poses when ``vis_thr`` is given (OKS 0 when none does),
over all keypoints otherwise. Poses of zero area and keypoints of zero
confidence give finite values (no NaN); the only division by a possibly
vanishing number, ``1 - comp_i`` of the linear kernel, is clipped at
``eps`` (a pose that duplicates a better one exactly then still suppresses
its own exact duplicates fully, and nothing else).
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

#: Decay kernels of Matrix NMS.
KERNELS = ('gaussian', 'linear')
#: COCO keypoint sigmas (COCO keypoint evaluation; MMPose's default).
COCO_SIGMAS = np.array([
    .26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87,
    .87, .89, .89
]) / 10.0
#: MMPose's ``oks_iou`` regulariser of the mean area (``np.spacing(1)``).
EPS = float(np.spacing(1))
#: At most this many (pair, keypoint) terms are held at once.
BLOCK_ELEMENTS = 1 << 18

Array = Union[np.ndarray, torch.Tensor]


def _xp(x: Array):
    """The array module of ``x``: ``torch`` or ``numpy``."""
    return torch if isinstance(x, torch.Tensor) else np


def _like(keypoints: Array, value) -> Optional[Array]:
    """``value`` as an array of the keypoints' kind, dtype and device."""
    if value is None:
        return None
    if isinstance(keypoints, torch.Tensor):
        return torch.as_tensor(
            value, dtype=keypoints.dtype, device=keypoints.device)
    return np.asarray(value, dtype=keypoints.dtype)


def _as_float(keypoints: Array) -> Array:
    if isinstance(keypoints, torch.Tensor):
        return keypoints if keypoints.is_floating_point() else \
            keypoints.float()
    return np.asarray(keypoints, dtype=np.float64)


def _prepare(keypoints: Array, areas: Array, scores: Optional[Array],
             sigmas: Optional[Array], keypoint_scores: Optional[Array],
             vis_thr: Optional[float]) -> Tuple[Array, ...]:
    """Cast the inputs alike and raise ValueError naming a bad argument."""
    keypoints = _as_float(keypoints)
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
        raise ValueError('keypoints must have shape (N, K, 2), got '
                         f'{tuple(keypoints.shape)}')
    n, k = keypoints.shape[:2]
    if sigmas is None:
        if k != len(COCO_SIGMAS):
            raise ValueError(f'sigmas is required for {k} keypoints; the '
                             f'default (COCO) has {len(COCO_SIGMAS)}')
        sigmas = COCO_SIGMAS
    if vis_thr is not None and keypoint_scores is None:
        raise ValueError('keypoint_scores is required when vis_thr is set')
    named = dict(
        areas=(_like(keypoints, areas), (n, )),
        scores=(_like(keypoints, scores), (n, )),
        sigmas=(_like(keypoints, sigmas), (k, )),
        keypoint_scores=(_like(keypoints, keypoint_scores), (n, k)))
    xp = _xp(keypoints)
    if not bool(xp.isfinite(keypoints).all()):
        raise ValueError('keypoints must be finite (no NaN or inf)')
    for name, (value, shape) in named.items():
        if value is None:
            continue
        if tuple(value.shape) != shape:
            raise ValueError(f'{name} must have shape {shape} for {n} poses '
                             f'of {k} keypoints, got {tuple(value.shape)}')
        if not bool(xp.isfinite(value).all()):
            raise ValueError(f'{name} must be finite (no NaN or inf)')
    if bool((named['areas'][0] < 0).any()):
        raise ValueError('areas must be >= 0')
    if not bool((named['sigmas'][0] > 0).all()):
        raise ValueError('sigmas must be > 0')
    return (keypoints, ) + tuple(v for v, _ in named.values())


def _check_decay(kernel: str, sigma: float) -> None:
    if kernel not in KERNELS:
        raise ValueError(f'kernel must be one of {KERNELS}, got {kernel!r}')
    if not sigma > 0:
        raise ValueError(f'sigma must be > 0, got {sigma!r}')


def oks_matrix(keypoints: Array,
               areas: Array,
               sigmas: Optional[Array] = None,
               keypoint_scores: Optional[Array] = None,
               vis_thr: Optional[float] = None) -> Array:
    """Pairwise OKS of N poses, the way MMPose's ``oks_iou`` computes it.

    Args:
        keypoints: (N, K, 2) coordinates, a NumPy array or torch tensor.
        areas: (N, ) areas of the poses' boxes.
        sigmas: (K, ) keypoint sigmas; COCO's when None (then K = 17).
        keypoint_scores: (N, K) confidences; required with ``vis_thr``.
        vis_thr: count only keypoints with confidence > ``vis_thr`` in both
            poses (OKS 0 when none); all keypoints when None.

    Returns:
        (N, N) symmetric OKS matrix; NumPy float64, or a tensor of the
        keypoints' floating dtype and device.
    """
    keypoints, areas, _, sigmas, keypoint_scores = _prepare(
        keypoints, areas, None, sigmas, keypoint_scores, vis_thr)
    return _oks_matrix(keypoints, areas, sigmas, keypoint_scores, vis_thr)


def _oks_matrix(keypoints: Array,
                areas: Array,
                sigmas: Array,
                keypoint_scores: Optional[Array],
                vis_thr: Optional[float],
                upper: bool = False) -> Array:
    """OKS matrix; with ``upper`` only the entries ``j >= i`` are computed
    (the rest is 0), which is all :func:`matrix_nms_decay` reads."""
    n, k = keypoints.shape[:2]
    # d^2 / (2 sigma)^2 = squared distance of coordinates scaled by 1/(2 sigma)
    scaled = keypoints / (2 * sigmas)[:, None]
    xs, ys = scaled[..., 0], scaled[..., 1]  # (N, K) each
    visible = None if vis_thr is None else keypoint_scores > vis_thr
    if isinstance(keypoints, torch.Tensor):
        out = keypoints.new_zeros((n, n))
    else:
        out = np.zeros((n, n), dtype=keypoints.dtype)
    rows = max(1, BLOCK_ELEMENTS // max(1, n * k))
    for start in range(0, n, rows):  # row blocks bound the memory
        stop = min(n, start + rows)
        cols = slice(start if upper else 0, n)
        dx = xs[start:stop, None] - xs[None, cols]  # (r, c, K)
        dy = ys[start:stop, None] - ys[None, cols]
        # 1 / (2 * ((a_i + a_j) / 2 + eps)), shape (r, c, 1)
        coef = 0.5 / ((areas[start:stop, None] + areas[None, cols]) / 2 + EPS)
        sim = _xp(keypoints).exp(-(dx * dx + dy * dy) * coef[..., None])
        if visible is None:
            out[start:stop, cols] = sim.mean(-1)
        else:
            both = visible[start:stop, None] & visible[None, cols]
            count = both.sum(-1).clip(min=1)
            out[start:stop, cols] = (sim * both).sum(-1) / count
    return out


def matrix_nms_decay(oks_sorted: Array,
                     kernel: str = 'gaussian',
                     sigma: float = 2.0) -> Array:
    """Matrix-NMS decay factors of score-sorted poses (Algorithm 1, 3-6).

    Args:
        oks_sorted: (N, N) OKS matrix of the poses sorted by score,
            descending.
        kernel: ``'gaussian'`` or ``'linear'``.
        sigma: gaussian width, ``exp(-sigma * oks^2)``; 2.0 by default as in
            mmdet's ``mask_matrix_nms`` and SOLOv2. Unused by ``'linear'``.

    Returns:
        (N, ) decay factors in [0, 1]; the first pose's is exactly 1.
    """
    _check_decay(kernel, sigma)
    xp = _xp(oks_sorted)
    if oks_sorted.shape[0] == 0:
        return oks_sorted.sum(0)
    upper = xp.triu(oks_sorted, 1)
    comp = xp.amax(upper, axis=0)[:, None]
    if kernel == 'gaussian':
        decay = xp.exp(-sigma * (upper**2 - comp**2))
    else:
        decay = (1 - upper) / (1 - comp).clip(min=EPS)
    return xp.amin(decay, axis=0)


def parallel_oks_nms_scores(keypoints: Array,
                            scores: Array,
                            areas: Array,
                            sigmas: Optional[Array] = None,
                            keypoint_scores: Optional[Array] = None,
                            vis_thr: Optional[float] = None,
                            kernel: str = 'gaussian',
                            sigma: float = 2.0) -> Array:
    """Decayed pose scores of parallel OKS-NMS, in the input order.

    Args:
        keypoints: (N, K, 2) coordinates (NumPy or torch).
        scores: (N, ) pose scores; the paper's is the box score times the
            mean confidence of the keypoints above a threshold, MMPose's
            ``score_mode='bbox_keypoint'``.
        areas, sigmas, keypoint_scores, vis_thr: as :func:`oks_matrix`.
        kernel, sigma: as :func:`matrix_nms_decay`.

    Returns:
        (N, ) ``scores * decay`` of the same kind (NumPy float64, or the
        keypoints' tensor dtype and device).
    """
    _check_decay(kernel, sigma)
    keypoints, areas, scores, sigmas, keypoint_scores = _prepare(
        keypoints, areas, scores, sigmas, keypoint_scores, vis_thr)
    xp = _xp(keypoints)
    order = xp.argsort(-scores, stable=True)
    oks = _oks_matrix(keypoints[order], areas[order], sigmas,
                      None if keypoint_scores is None else
                      keypoint_scores[order], vis_thr, upper=True)
    new_scores = xp.empty_like(scores)
    new_scores[order] = scores[order] * matrix_nms_decay(oks, kernel, sigma)
    return new_scores


def top_scoring_indices(scores: Array,
                        score_thr: float = 0.0,
                        max_dets: Optional[int] = None) -> Array:
    """Indices of the scores >= ``score_thr``, best first (stable), at most
    ``max_dets`` of them (all when None)."""
    if max_dets is not None and max_dets < 0:
        raise ValueError(f'max_dets must be None or >= 0, got {max_dets}')
    xp = _xp(scores)
    order = xp.argsort(-scores, stable=True)
    order = order[scores[order] >= score_thr]
    return order if max_dets is None else order[:max_dets]


def parallel_oks_nms(kpts_db: List[dict],
                     score_thr: float = 0.0,
                     max_dets: Optional[int] = None,
                     kernel: str = 'gaussian',
                     sigma: float = 2.0,
                     sigmas: Optional[Sequence[float]] = None,
                     vis_thr: Optional[float] = None
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """Parallel OKS-NMS of one image's poses in MMPose's ``kpts_db`` format.

    Args:
        kpts_db: one dict per pose with ``'keypoints'`` (K, 2) or (K, 3),
            the third column being the keypoint confidence (needed with
            ``vis_thr``), ``'score'`` and ``'area'``, as MMPose's
            ``CocoMetric`` passes them to ``oks_nms``.
        score_thr: keep poses whose decayed score is >= this.
        max_dets: keep at most this many (None: no limit).
        kernel, sigma: decay kernel, see :func:`matrix_nms_decay`.
        sigmas, vis_thr: OKS settings, see :func:`oks_matrix`.

    Returns:
        tuple: ``keep``, indices into ``kpts_db`` best first, and the (N, )
        decayed scores of all poses in the input order.
    """
    if len(kpts_db) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    kpts = np.stack([np.asarray(k['keypoints'], dtype=np.float64)
                     for k in kpts_db])
    if kpts.ndim != 3 or kpts.shape[-1] not in (2, 3):
        raise ValueError("kpts_db[i]['keypoints'] must have shape (K, 2) or "
                         f'(K, 3), got {kpts.shape[1:]}')
    if vis_thr is not None and kpts.shape[-1] != 3:
        raise ValueError("vis_thr needs keypoint confidences: kpts_db[i]"
                         "['keypoints'] of shape (K, 3)")
    new_scores = parallel_oks_nms_scores(
        kpts[..., :2],
        np.array([float(k['score']) for k in kpts_db]),
        np.array([float(k['area']) for k in kpts_db]),
        sigmas=sigmas,
        keypoint_scores=kpts[..., 2] if kpts.shape[-1] == 3 else None,
        vis_thr=vis_thr,
        kernel=kernel,
        sigma=sigma)
    return top_scoring_indices(new_scores, score_thr, max_dets), new_scores
