"""Parallel OKS-NMS against a brute-force (loop) reference of Algorithm 1."""
import math

import numpy as np
import pytest
import torch
from mmpose.evaluation.functional import oks_nms
from mmpose.evaluation.functional.nms import oks_iou

from elhrnet_mm.evaluation import (COCO_SIGMAS, matrix_nms_decay, oks_matrix,
                                   parallel_oks_nms, parallel_oks_nms_scores,
                                   top_scoring_indices)


def brute_force(kpts, scores, areas, kernel, sigma, vis_thr=None):
    """Algorithm 1 with Python loops; the OKS of each pair is MMPose's."""
    n = len(scores)
    order = sorted(range(n), key=lambda i: -scores[i])  # stable on ties
    flat = np.concatenate([kpts, np.ones(kpts.shape[:2] + (1, ))], -1)
    if vis_thr is not None:
        flat = kpts  # (N, K, 3) with confidences
    oks = np.zeros((n, n))
    for a in range(n):
        for b in range(a + 1, n):
            i, j = order[a], order[b]
            oks[a, b] = oks_iou(flat[i].reshape(-1), flat[j].reshape(1, -1),
                                areas[i], areas[j:j + 1], COCO_SIGMAS,
                                vis_thr)[0]
    new = np.array(scores, dtype=float)
    for b in range(n):
        decay = 1.0
        for a in range(b):
            comp = max([oks[c, a] for c in range(a)], default=0.0)
            if kernel == 'gaussian':
                f = math.exp(-sigma * oks[a, b]**2) / math.exp(
                    -sigma * comp**2)
            else:
                f = (1 - oks[a, b]) / (1 - comp)
            decay = min(decay, f)
        new[order[b]] = scores[order[b]] * decay
    return new


def clustered_poses(rng, people=4, per_person=5, k=17):
    """Poses jittered around a few people, so that OKS spans [0, 1]."""
    centres = rng.uniform(0, 400, (people, 1, 2)) + rng.normal(
        0, 30, (people, k, 2))
    kpts = np.repeat(centres, per_person, 0) + rng.normal(
        0, 4, (people * per_person, k, 2))
    n = len(kpts)
    return kpts, rng.uniform(0.05, 1, n), rng.uniform(2000, 9000, n)


@pytest.mark.parametrize('kernel,sigma', [('gaussian', 2.0),
                                          ('gaussian', 0.5), ('linear', 1.0)])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_numpy_matches_brute_force(kernel, sigma, seed):
    kpts, scores, areas = clustered_poses(np.random.default_rng(seed))
    ref = brute_force(kpts, scores, areas, kernel, sigma)
    new = parallel_oks_nms_scores(kpts, scores, areas, kernel=kernel,
                                  sigma=sigma)
    np.testing.assert_allclose(new, ref, rtol=1e-6, atol=1e-9)
    assert (new <= scores + 1e-12).all() and (new < scores - 1e-3).any()


@pytest.mark.parametrize('kernel', ['gaussian', 'linear'])
def test_torch_matches_numpy(kernel):
    kpts, scores, areas = clustered_poses(np.random.default_rng(5), 6, 8)
    ref = parallel_oks_nms_scores(kpts, scores, areas, kernel=kernel)
    t64 = parallel_oks_nms_scores(
        torch.from_numpy(kpts), torch.from_numpy(scores),
        torch.from_numpy(areas), kernel=kernel)
    assert t64.dtype == torch.float64
    np.testing.assert_allclose(t64.numpy(), ref, rtol=1e-12, atol=1e-12)
    t32 = parallel_oks_nms_scores(
        torch.from_numpy(kpts).float(), torch.from_numpy(scores).float(),
        torch.from_numpy(areas).float(), kernel=kernel)
    assert t32.dtype == torch.float32
    np.testing.assert_allclose(t32.numpy(), ref, rtol=1e-4, atol=1e-5)


def test_row_blocks_do_not_change_the_result(monkeypatch):
    import elhrnet_mm.evaluation.parallel_nms as mod
    kpts, scores, areas = clustered_poses(np.random.default_rng(3))
    full = oks_matrix(kpts, areas)
    monkeypatch.setattr(mod, 'BLOCK_ELEMENTS', 17 * len(kpts) * 3)
    np.testing.assert_array_equal(oks_matrix(kpts, areas), full)
    np.testing.assert_allclose(full, full.T)


def test_oks_matrix_is_mmpose_oks_iou_with_vis_thr():
    rng = np.random.default_rng(4)
    kpts, _, areas = clustered_poses(rng, 2, 3)
    conf = rng.uniform(0, 1, kpts.shape[:2])
    conf[0] = 0.0  # a pose whose keypoints all have zero confidence
    conf[1, :10] = 0.0
    oks = oks_matrix(kpts, areas, keypoint_scores=conf, vis_thr=0.3)
    flat = np.concatenate([kpts, conf[..., None]], -1).reshape(len(kpts), -1)
    for i in range(len(kpts)):
        np.testing.assert_allclose(
            oks[i], oks_iou(flat[i], flat, areas[i], areas, COCO_SIGMAS, 0.3),
            rtol=1e-6, atol=1e-7)  # oks_iou returns float32
    assert np.isfinite(oks).all() and (oks[0] == 0).all()


def test_vis_thr_matches_brute_force():
    rng = np.random.default_rng(6)
    kpts, scores, areas = clustered_poses(rng, 3, 4)
    conf = rng.uniform(0, 1, kpts.shape[:2])
    conf[2] = 0.0
    with3 = np.concatenate([kpts, conf[..., None]], -1)
    ref = brute_force(with3, scores, areas, 'gaussian', 2.0, vis_thr=0.2)
    new = parallel_oks_nms_scores(kpts, scores, areas, keypoint_scores=conf,
                                  vis_thr=0.2)
    np.testing.assert_allclose(new, ref, rtol=1e-6, atol=1e-9)


def test_decay_matches_mmdet_matrix_nms():
    """With a mask-IoU matrix instead of OKS, the decay is mmdet's."""
    from mmdet.models.layers import mask_matrix_nms
    g = torch.Generator().manual_seed(0)
    masks = torch.rand(12, 20, 20, generator=g) > 0.5
    masks[6:] = masks[:6] | (torch.rand(6, 20, 20, generator=g) > 0.9)
    scores = torch.rand(12, generator=g)
    order = torch.argsort(-scores, stable=True)
    m = masks[order].flatten(1).float()
    inter = m @ m.T
    area = m.sum(1)
    iou = inter / (area[:, None] + area[None] - inter)
    for kernel in ('gaussian', 'linear'):
        ours = scores[order] * matrix_nms_decay(iou, kernel, 2.0)
        theirs, _, _, keep = mask_matrix_nms(
            masks, torch.zeros(12, dtype=torch.long), scores, kernel=kernel,
            sigma=2.0)
        # mmdet re-sorts by the new score; compare per input index
        torch.testing.assert_close(
            ours[torch.argsort(order)][keep], theirs, rtol=1e-5, atol=1e-6)


def test_zero_and_one_pose():
    for xp in (np, torch):
        empty = parallel_oks_nms_scores(
            xp.zeros((0, 17, 2)), xp.zeros(0), xp.zeros(0))
        assert tuple(empty.shape) == (0, )
        one = parallel_oks_nms_scores(
            xp.ones((1, 17, 2)), xp.full((1, ), 0.7), xp.zeros(1),
            kernel='linear')
        assert float(one[0]) == pytest.approx(0.7)
    keep, new = parallel_oks_nms([])
    assert len(keep) == 0 and len(new) == 0


def test_ties_and_exact_duplicates_are_deterministic_without_nan():
    rng = np.random.default_rng(7)
    pose = rng.uniform(0, 100, (1, 17, 2))
    kpts = np.concatenate([pose, pose, pose, pose + 300])
    scores = np.array([0.5, 0.5, 0.5, 0.5])  # all tied
    areas = np.array([0.0, 0.0, 0.0, 100.0])  # zero areas too
    for kernel in ('gaussian', 'linear'):
        new = parallel_oks_nms_scores(kpts, scores, areas, kernel=kernel)
        again = parallel_oks_nms_scores(kpts, scores, areas, kernel=kernel)
        assert np.isfinite(new).all()
        np.testing.assert_array_equal(new, again)
        # the first of the tied duplicates (input order) keeps its score
        assert new[0] == 0.5 and new[3] == 0.5
        assert (new[1:3] < 0.5).all()
        if kernel == 'linear':  # OKS 1 -> fully suppressed
            assert (new[1:3] == 0).all()
        ref = brute_force(kpts, scores, areas + 1e-300, kernel, 2.0) \
            if kernel == 'gaussian' else None
        if ref is not None:
            np.testing.assert_allclose(new, ref)


def test_separate_people_keep_their_scores_and_order_like_oks_nms():
    rng = np.random.default_rng(8)
    kpts = rng.uniform(0, 50, (5, 17, 2)) + 500 * np.arange(5)[:, None, None]
    scores = rng.uniform(0.1, 1, 5)
    conf = np.ones((5, 17, 1))
    db = [dict(keypoints=k, score=s, area=2500.0)
          for k, s in zip(np.concatenate([kpts, conf], -1), scores)]
    keep, new = parallel_oks_nms(db)
    np.testing.assert_allclose(new, scores)
    np.testing.assert_array_equal(keep, oks_nms(db, 0.9))


def test_select_threshold_and_max_dets():
    new = np.array([0.2, 0.9, 0.05, 0.9, 0.4])
    np.testing.assert_array_equal(top_scoring_indices(new), [1, 3, 4, 0, 2])
    np.testing.assert_array_equal(top_scoring_indices(new, 0.1, 3), [1, 3, 4])
    with pytest.raises(ValueError, match='max_dets'):
        top_scoring_indices(new, max_dets=-1)


@pytest.mark.parametrize('kwargs,match', [
    (dict(kernel='box'), 'kernel must be one of'),
    (dict(sigma=0.0), 'sigma must be > 0'),
    (dict(vis_thr=0.2), 'keypoint_scores is required'),
    (dict(sigmas=np.ones(5)), 'sigmas must have shape'),
])
def test_bad_arguments_raise(kwargs, match):
    kpts, scores, areas = clustered_poses(np.random.default_rng(9), 1, 2)
    with pytest.raises(ValueError, match=match):
        parallel_oks_nms_scores(kpts, scores, areas, **kwargs)


def test_bad_inputs_raise():
    kpts, scores, areas = clustered_poses(np.random.default_rng(9), 1, 2)
    with pytest.raises(ValueError, match=r'keypoints must have shape'):
        parallel_oks_nms_scores(kpts[..., :1], scores, areas)
    with pytest.raises(ValueError, match='scores must have shape'):
        parallel_oks_nms_scores(kpts, scores[:1], areas)
    bad = scores.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match='scores must be finite'):
        parallel_oks_nms_scores(kpts, bad, areas)
    with pytest.raises(ValueError, match='areas must be >= 0'):
        parallel_oks_nms_scores(kpts, scores, -areas)
    with pytest.raises(ValueError, match='sigmas is required'):
        parallel_oks_nms_scores(kpts[:, :5], scores, areas)
