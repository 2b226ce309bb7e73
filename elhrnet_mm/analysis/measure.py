"""Count a config's model under every convention and match its rows.

:func:`measure_config` is what ``tools/analysis_tools/get_flops.py``
prints, what ``model_zoo.py`` tabulates and what ``leaderboard.py`` puts
beside a result: the model of ``cfg.model`` built on the CPU (no weights,
``forward`` routed to ``_forward`` as in MMPose's tool), counted once per
convention, with the published rows whose ``ours`` is the config's name.
"""
import warnings
from typing import Any, Dict, List, Optional, Tuple

from mmengine.config import Config

from ..utils.input_size import input_hw_of
from ..utils.mmpose_models import build_estimator
from .counters import conv_macs, count_params, mmengine_flops, torchstat_flops
from .hrnet_reference import (HRNET_W32_CONFIG, hrnet_w32_flops,
                              hrnet_w32_published)
from .paper_match import match_rows, other_sizes
from .report import ComplexityReport, FlopsCounts, HRNetReference

#: Convention of the HRNet-W32 ratio: conv + linear MACs, which is what
#: HRNet's authors counted.
RATIO_CONVENTION = 'conv_macs'
#: Keypoint count assumed when the config's head has no ``out_channels``.
DEFAULT_KEYPOINTS = 17


def measure(config: str, cfg: Config, input_hw: Tuple[int, int],
            num_keypoints: int) -> ComplexityReport:
    """Count the model of ``cfg`` at ``input_hw`` and match its rows.

    Raises:
        RuntimeError: the forward pass failed at this input.
    """
    model = build_estimator(cfg)
    height, width = input_hw
    shape = (1, 3, height, width)
    stat = torchstat_flops(model, shape)
    macs = conv_macs(model, shape)
    try:
        reference = hrnet_w32_flops(RATIO_CONVENTION, input_hw, num_keypoints)
    except RuntimeError:  # HRNet-W32's 4 branches need H, W divisible by 32
        reference = None
    ratio = None if reference is None else macs / reference
    published = hrnet_w32_published(input_hw)
    flops = FlopsCounts(
        mmengine=mmengine_flops(model, shape),
        torchstat=stat.flops,
        conv_macs=macs,
        hrnet_ratio=ratio,
        hrnet_paper_scale=(ratio * published['flops'] *
                           1e9 if published and ratio else None))
    params = count_params(model)
    return ComplexityReport(
        config=config,
        input_hw=(height, width),
        num_keypoints=num_keypoints,
        params=params,
        flops=flops,
        torchstat=stat,
        hrnet_reference=HRNetReference(
            config=f'mmpose::{HRNET_W32_CONFIG}',
            num_keypoints=num_keypoints,
            convention=RATIO_CONVENTION,
            flops=reference,
            published=published),
        paper=match_rows(config, input_hw, params, flops),
        paper_other_sizes=other_sizes(config, input_hw))


def measure_config(
        config: str,
        input_shape: Optional[List[int]] = None,
        cfg_options: Optional[Dict[str, Any]] = None) -> ComplexityReport:
    """Load ``config`` and :func:`measure` it.

    Args:
        config: path of a model config.
        input_shape: ``[H, W]`` or ``[S]``; default the codec's input size.
        cfg_options: settings merged into the config first.

    Raises:
        ValueError: no input size known, or the forward pass failed at it.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    input_hw = input_hw_of(cfg, input_shape)
    if input_hw is None:
        raise ValueError('the config has no codec input_size; pass '
                         '--input-shape H W')
    num_keypoints = cfg.model.get('head', {}).get('out_channels')
    if num_keypoints is None:
        num_keypoints = DEFAULT_KEYPOINTS
        warnings.warn(f'{config}: head has no out_channels; the HRNet-W32 '
                      f'reference uses {num_keypoints} keypoints')
    try:
        return measure(config, cfg, input_hw, int(num_keypoints))
    except RuntimeError as error:
        raise ValueError(
            f'forward pass failed at --input-shape {input_hw[0]} '
            f'{input_hw[1]} (multi-resolution networks need H and W '
            f'divisible by 32): {error}') from error
