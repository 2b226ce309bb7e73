"""What ``tools/train.py`` and ``tools/test.py`` do to a config before the
Runner is built."""
import logging
from typing import Sequence

from mmengine.logging import print_log

from ..utils.annotation_check import check_annotation_files
from ..utils.config_check import check_backbone_cfg
from ..utils.data_check import check_dataset_paths
from .distributed import setup_distributed


def prepare_run(cfg, launcher: str, splits: Sequence[str]) -> None:
    """Validate ``cfg`` and its data, then set it up for ``launcher``.

    In order: :func:`~elhrnet_mm.utils.config_check.check_backbone_cfg`,
    then for ``splits``
    :func:`~elhrnet_mm.utils.data_check.check_dataset_paths` and
    :func:`~elhrnet_mm.utils.annotation_check.check_annotation_files` (its
    warnings are logged),
    :func:`~elhrnet_mm.engine.distributed.setup_distributed`. The hooks
    a run uses are the config's own (``configs/_base_/default_runtime.py``).

    Raises:
        ValueError, FileNotFoundError: naming the field or file at fault,
            before anything is built.
    """
    check_backbone_cfg(cfg)
    check_dataset_paths(cfg, splits=splits)
    for warning in check_annotation_files(cfg, splits=splits):
        print_log(warning, logger='current', level=logging.WARNING)
    setup_distributed(cfg, launcher)
