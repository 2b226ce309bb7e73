"""Configs named as the tools accept them: a path or ``mmpose::<path>``."""
import os.path as osp

from mmengine.config import Config

from ..utils.complexity import mmpose_config_path

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
