"""Build a block chosen by a config dict through MMPose's ``MODELS``.

Our backbones and blocks take the layers they are made of as ``type=``
dicts (``stage_block=dict(type='EDMCBlock', mix_groups=1)``,
``conv_bn_cfg=dict(type='EnhancedConvBN')``): the dict chooses the class
and its own arguments, the caller adds the arguments it decides (widths,
stride, ``norm_cfg``, ...).
"""
from typing import Any

import torch.nn as nn
from mmpose.registry import MODELS


def build_block(cfg: dict, field: str, **set_by_caller: Any) -> nn.Module:
    """``MODELS.build({**cfg, **set_by_caller})``, refusing a ``cfg`` that
    has no ``type`` or sets what the caller sets.

    Args:
        cfg (dict): the block's config, ``type`` and its own arguments.
        field (str): the argument ``cfg`` came from, named in errors.
        **set_by_caller: arguments the caller fills in.

    Raises:
        ValueError: ``cfg`` is not a dict with a ``type``, or sets one of
            ``set_by_caller``.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'{field} = {cfg!r} must be a dict with a type, '
                         "e.g. dict(type='DMCBlock')")
    clash = sorted(set(cfg) & set(set_by_caller))
    if clash:
        raise ValueError(f'{field} must not set {clash}; the enclosing '
                         f'module sets them (allowed: the arguments of '
                         f"{cfg['type']} other than {sorted(set_by_caller)})")
    return MODELS.build({**cfg, **set_by_caller})
