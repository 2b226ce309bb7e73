"""Configs named as the tools accept them: a path or ``mmpose::<path>``."""
import os.path as osp
from typing import Optional, Sequence, Tuple

from mmengine.config import Config

from ..utils.input_size import input_hw_of
from ..utils.mmpose_models import mmpose_config_path

#: Prefix of a config shipped inside the installed MMPose.
MMPOSE_PREFIX = 'mmpose::'


def resolve_config_path(config: str) -> str:
    """The file of ``config``: a path, or ``mmpose::<path relative to
    mmpose's configs/>``; FileNotFoundError naming it when missing."""
    if config.startswith(MMPOSE_PREFIX):
        return mmpose_config_path(config[len(MMPOSE_PREFIX):])
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'config file not found: {config} (give a path or '
            f'{MMPOSE_PREFIX}<path in mmpose configs/>)')
    return config


def load_config(config: str) -> Config:
    """``Config.fromfile`` of :func:`resolve_config_path`."""
    return Config.fromfile(resolve_config_path(config))


def load_config_at(config: str,
                   input_shape: Optional[Sequence[int]] = None
                   ) -> Tuple[Config, Tuple[int, int]]:
    """:func:`load_config` and the (H, W) its network runs at: the tools'
    ``--input-shape`` when given, else the codec's ``input_size``.

    Raises:
        FileNotFoundError: the config is missing (named).
        ValueError: neither gives an input size (the config named).
    """
    cfg = load_config(config)
    input_hw = input_hw_of(cfg, input_shape)
    if input_hw is None:
        raise ValueError(f'{config} has no codec input_size; pass '
                         '--input-shape H W')
    return cfg, input_hw
