"""Evaluation: MobilePoseNet's parallel OKS-NMS and the metric using it."""
from .metrics import PARALLEL_OKS, ParallelNMSCocoMetric
from .parallel_nms import (COCO_SIGMAS, KERNELS, matrix_nms_decay,
                           oks_matrix, parallel_oks_nms,
                           parallel_oks_nms_scores, top_scoring_indices)

__all__ = [
    'PARALLEL_OKS', 'ParallelNMSCocoMetric', 'COCO_SIGMAS', 'KERNELS',
    'matrix_nms_decay', 'oks_matrix', 'parallel_oks_nms',
    'parallel_oks_nms_scores', 'top_scoring_indices'
]
