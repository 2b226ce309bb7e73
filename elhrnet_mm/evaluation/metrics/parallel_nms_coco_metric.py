"""``CocoMetric`` with MobilePoseNet's parallel OKS-NMS as an NMS mode."""
from typing import Dict, Optional

from mmpose.evaluation.metrics import CocoMetric
from mmpose.registry import METRICS

from ..parallel_nms import KERNELS, parallel_oks_nms

#: The NMS mode this metric adds to MMPose's.
PARALLEL_OKS = 'parallel_oks'


@METRICS.register_module()
class ParallelNMSCocoMetric(CocoMetric):
    """MMPose's :class:`~mmpose.evaluation.CocoMetric` plus
    ``nms_mode='parallel_oks'``.

    With ``nms_mode='parallel_oks'`` every image's poses are rescored by
    :func:`~elhrnet_mm.evaluation.parallel_oks_nms` (MobilePoseNet, Sec. 3.3,
    Algorithm 1) instead of being filtered by greedy OKS-NMS: each pose's
    score (computed by ``score_mode``; the paper's pose score is the box
    score times the mean confidence of the keypoints above
    ``keypoint_score_thr``, i.e. ``score_mode='bbox_keypoint'``) is
    multiplied by its Matrix-NMS decay, poses whose decayed score is below
    ``nms_score_thr`` are dropped and at most ``nms_max_dets`` are kept per
    image. The decayed score is the one written to the result file and
    ranked by COCO evaluation. MMPose's modes (``'oks_nms'``,
    ``'soft_oks_nms'``, ``'none'``) behave exactly as in ``CocoMetric``.

    Args:
        nms_mode (str): ``'parallel_oks'`` (default) or one of MMPose's.
        decay_kernel (str): ``'gaussian'`` or ``'linear'``.
        decay_sigma (float): width of the gaussian decay. Default: 2.0.
        nms_score_thr (float): minimum decayed score. Default: 0.0.
        nms_max_dets (int, optional): poses kept per image; None keeps all
            (COCO evaluation itself ranks at most 20 per image).
        nms_vis_thr (float, optional): OKS over keypoints with confidence
            above this in both poses; None uses all keypoints, as
            ``CocoMetric`` does for ``oks_nms``.
        **kwargs: the other arguments of ``CocoMetric`` (``nms_thr`` is only
            used by MMPose's modes).
    """

    def __init__(self,
                 nms_mode: str = PARALLEL_OKS,
                 decay_kernel: str = 'gaussian',
                 decay_sigma: float = 2.0,
                 nms_score_thr: float = 0.0,
                 nms_max_dets: Optional[int] = None,
                 nms_vis_thr: Optional[float] = None,
                 **kwargs) -> None:
        if decay_kernel not in KERNELS:
            raise ValueError(f'decay_kernel must be one of {KERNELS}, got '
                             f'{decay_kernel!r}')
        if not decay_sigma > 0:
            raise ValueError(f'decay_sigma must be > 0, got {decay_sigma!r}')
        if nms_max_dets is not None and nms_max_dets < 1:
            raise ValueError('nms_max_dets must be None or a positive int, '
                             f'got {nms_max_dets!r}')
        parallel = nms_mode == PARALLEL_OKS
        try:
            super().__init__(
                nms_mode='none' if parallel else nms_mode, **kwargs)
        except ValueError as err:
            raise ValueError(f'{err}; or {PARALLEL_OKS!r}') from None
        self.nms_mode = nms_mode
        self.decay_kernel = decay_kernel
        self.decay_sigma = decay_sigma
        self.nms_score_thr = nms_score_thr
        self.nms_max_dets = nms_max_dets
        self.nms_vis_thr = nms_vis_thr

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """``CocoMetric.compute_metrics``; in ``'parallel_oks'`` mode its own
        NMS step is skipped and :meth:`results2json` applies ours."""
        if self.nms_mode != PARALLEL_OKS:
            return super().compute_metrics(results)
        self.nms_mode, self._apply_parallel_nms = 'none', True
        try:
            return super().compute_metrics(results)
        finally:
            self.nms_mode, self._apply_parallel_nms = PARALLEL_OKS, False

    def results2json(self, keypoints: Dict[int, list],
                     outfile_prefix: str) -> str:
        """Apply parallel OKS-NMS to every image (in that mode), then dump.

        ``CocoMetric.compute_metrics`` calls this with each image's scored
        instances right after its NMS step.
        """
        if getattr(self, '_apply_parallel_nms', False):
            keypoints = {
                img_id: self.parallel_nms(instances)
                for img_id, instances in keypoints.items()
            }
        return super().results2json(keypoints, outfile_prefix)

    def parallel_nms(self, instances: list) -> list:
        """One image's instances after parallel OKS-NMS, best first, each
        with its decayed ``'score'``."""
        keep, scores = parallel_oks_nms(
            instances,
            score_thr=self.nms_score_thr,
            max_dets=self.nms_max_dets,
            kernel=self.decay_kernel,
            sigma=self.decay_sigma,
            sigmas=self.dataset_meta['sigmas'],
            vis_thr=self.nms_vis_thr)
        return [dict(instances[i], score=float(scores[i])) for i in keep]
