"""MMPose's HRNet-W32 as the yardstick of the HRNet authors' FLOPs scale.

EL-HRNet's paper prints GFLOPs on the scale of the HRNet paper (Sun et al.,
CVPR 2019), whose counts we cannot rebuild exactly; a model is therefore
expressed as a ratio of MMPose's HRNet-W32 (conv MACs, same input) and
scaled by the HRNet paper's published HRNet-W32 figure
(:func:`hrnet_w32_published`). ``docs/complexity.md`` explains why.
"""
from functools import lru_cache
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.config import Config

from ..utils.mmpose_models import build_estimator, mmpose_config_path
from .counters import count_flops
from .published import find_rows

#: MMPose's HRNet-W32 top-down heatmap config, relative to its ``configs``.
HRNET_W32_CONFIG = ('body_2d_keypoint/topdown_heatmap/coco/'
                    'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py')
#: Paper key and model name of HRNet's own rows in the published numbers.
HRNET_PAPER = 'hrnet-cvpr2019'
HRNET_W32_MODEL = 'HRNet-W32'


@lru_cache(maxsize=2)
def _hrnet_w32(num_keypoints: int) -> nn.Module:
    cfg = Config.fromfile(mmpose_config_path(HRNET_W32_CONFIG))
    cfg.model.head.out_channels = num_keypoints
    return build_estimator(cfg)


@lru_cache(maxsize=None)
def _hrnet_w32_flops(convention: str, height: int, width: int,
                     num_keypoints: int) -> int:
    return count_flops(
        _hrnet_w32(num_keypoints), (1, 3, height, width), convention)


def hrnet_w32_flops(convention: str,
                    input_hw: Sequence[int],
                    num_keypoints: int = 17) -> int:
    """FLOPs of MMPose's HRNet-W32 top-down model at ``input_hw`` (H, W).

    The model is MMPose's ``td-hm_hrnet-w32_8xb64-210e_coco-256x192.py``
    with the head's output channels set to ``num_keypoints``; with 16 it is
    exactly the model of MMPose's MPII HRNet-W32 config (the two configs
    differ only there). Results are cached in memory per (convention, input
    size, keypoints); the last two models built are kept (17 and 16
    keypoints: COCO and MPII).
    """
    height, width = (int(v) for v in input_hw)
    return _hrnet_w32_flops(convention, height, width, int(num_keypoints))


def hrnet_w32_ratio(flops: int,
                    convention: str,
                    input_hw: Sequence[int],
                    num_keypoints: int = 17) -> float:
    """``flops`` as a fraction of HRNet-W32's, same convention and input."""
    return flops / hrnet_w32_flops(convention, input_hw, num_keypoints)


def hrnet_w32_published(input_hw: Sequence[int]) -> Optional[dict]:
    """The HRNet paper's HRNet-W32 row for this input size (H, W), if any.

    Sun et al. (CVPR 2019) published 7.1 GFLOPs at 256x192 and 16.0 at
    384x288 (Table 1, COCO val) and 9.5 at 256x256 (Table 4, MPII); other
    sizes give ``None``.
    """
    rows = [
        row for row in find_rows(
            paper=HRNET_PAPER, model=HRNET_W32_MODEL, input_size=input_hw)
        if row['flops'] is not None
    ]
    return rows[0] if rows else None
