"""The configs this package ships, for tools that cover the whole zoo.

Configs live in ``configs/`` of the checkout and in ``elhrnet_mm/.mim/configs``
of an installed wheel (a symlink to ``configs/`` in the checkout), which is
where ``mim`` looks for them.
"""
import os.path as osp
from glob import glob
from typing import List, Optional

#: ``configs/<collection>/td-hm_*.py``: MMPose's top-down heatmap naming.
CONFIG_PATTERN = osp.join('*', 'td-hm_*.py')


def configs_root() -> str:
    """Directory holding the shipped configs (``.mim/configs`` or the repo's)."""
    here = osp.dirname(osp.abspath(__file__))
    for root in (osp.join(here, '.mim', 'configs'),
                 osp.join(osp.dirname(here), 'configs')):
        if osp.isdir(root):
            return root
    raise FileNotFoundError(
        'no shipped configs found: looked in elhrnet_mm/.mim/configs and '
        'configs/ next to the package')


def shipped_configs(collection: Optional[str] = None,
                    root: Optional[str] = None) -> List[str]:
    """Sorted paths of the shipped configs, optionally of one collection.

    Args:
        collection (str, optional): a folder of ``configs/`` such as
            ``'el_hrnet'``; None for every collection.
        root (str, optional): the configs directory; default
            :func:`configs_root`.
    """
    root = root or configs_root()
    pattern = CONFIG_PATTERN if collection is None else osp.join(
        collection, 'td-hm_*.py')
    paths = sorted(glob(osp.join(root, pattern)))
    if collection is not None and not paths:
        known = sorted(
            d for d in (osp.basename(p) for p in glob(osp.join(root, '*')))
            if glob(osp.join(root, d, 'td-hm_*.py')))
        raise ValueError(f'collection {collection!r} has no configs; allowed: '
                         + ', '.join(known))
    return paths
