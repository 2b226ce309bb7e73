"""Datasets of elhrnet_mm, registered in ``mmpose.registry.DATASETS``."""
from .synthetic_coco import (SyntheticCocoDataset, ensure_synthetic_coco,
                             generate_synthetic_coco, synthetic_coco_root)

__all__ = [
    'SyntheticCocoDataset', 'ensure_synthetic_coco', 'generate_synthetic_coco',
    'synthetic_coco_root'
]
