"""Evaluation metrics registered in ``mmpose.registry.METRICS``."""
from .parallel_nms_coco_metric import PARALLEL_OKS, ParallelNMSCocoMetric

__all__ = ['PARALLEL_OKS', 'ParallelNMSCocoMetric']
