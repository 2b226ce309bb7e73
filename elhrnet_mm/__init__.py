"""elhrnet_mm: lightweight high-resolution pose networks as an MMPose 1.x plugin.

``import elhrnet_mm`` (or ``custom_imports=dict(imports=['elhrnet_mm'])`` in a
config) registers every backbone, block, dataset, metric and hook of this
package into MMPose's registries (``mmpose.registry.MODELS``, ``DATASETS``,
``HOOKS``, ...) and allow-lists the data types MMEngine checkpoints hold for
``torch.load(weights_only=True)``. Nothing else: what a run uses (crash-safe
checkpoints, checked checkpoint loading) is declared by its config
(``configs/_base_/default_runtime.py``).
"""
from .version import __version__
from .utils.checkpoint_safety import allow_mmengine_checkpoints
from . import datasets, evaluation, models  # noqa: F401,E402  (registration)
from . import engine  # noqa: F401,E402  (hooks, CPU DDP wrapper)

allow_mmengine_checkpoints()

__all__ = ['__version__', 'allow_mmengine_checkpoints']
