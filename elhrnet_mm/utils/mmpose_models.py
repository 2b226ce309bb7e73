"""MMPose's shipped configs, and estimators built from a config.

Both the complexity counters (:mod:`elhrnet_mm.analysis`) and the deploy
path (:mod:`elhrnet_mm.deploy.inference_model`) build a config's whole
top-down estimator the way MMPose's ``tools/analysis_tools/get_flops.py``
does; this module is that one recipe.
"""
from pathlib import Path

import torch.nn as nn
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm


def mmpose_config_path(relative_path: str) -> str:
    """Absolute path of a config shipped inside the installed mmpose.

    ``relative_path`` is relative to mmpose's ``configs`` directory, as in
    ``mmpose::<relative_path>`` bases.
    """
    import mmpose

    path = Path(mmpose.__file__).parent / '.mim' / 'configs' / relative_path
    if not path.is_file():
        raise FileNotFoundError(f'mmpose config not found: {path}')
    return str(path)


def build_estimator(cfg: Config) -> nn.Module:
    """Build ``cfg.model`` on the CPU, ready for counting or exporting.

    Like MMPose's ``get_flops.py``: the registry scope is
    ``cfg.default_scope`` (``'mmpose'`` if unset), SyncBN becomes BN, the
    model is in eval mode, and ``forward`` is routed to ``_forward``
    (backbone, neck and head, no post-processing). No weights are loaded.
    """
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmpose') or 'mmpose')
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.eval()
    if hasattr(model, '_forward'):
        model.forward = model._forward
    return model
