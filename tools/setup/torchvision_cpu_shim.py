"""Let the CUDA-linked torchvision wheel import on a CPU-only torch build.

torchvision 0.28.0 is the release that matches torch 2.13.0, and PyPI has it
only as a CUDA-linked wheel. Its ``_C.so`` fails to load against the CPU torch
build, after which ``torchvision/_meta_registrations.py`` raises
``RuntimeError: operator torchvision::nms does not exist``. MMPose imports
torchvision (``mmpose.visualization.simcc_vis``) but uses none of its C++ ops.

Installed by ``tools/setup/setup_env.sh`` as a ``.pth`` hook: right before the
first ``import torchvision``, and only if ``_C.so`` cannot be loaded, the
schemas of ``torchvision::nms`` and ``torchvision::qnms`` are declared so the
pure-Python parts of torchvision import. Calling those two ops still fails
loudly (no kernel is registered); ``mmcv.ops.nms`` is the working NMS.
"""
import importlib.abc
import importlib.util
import os
import sys

_LIBRARY = None


class _TorchvisionShimFinder(importlib.abc.MetaPathFinder):

    def find_spec(self, fullname, path=None, target=None):
        if fullname != 'torchvision':
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec('torchvision')
        if spec is not None and spec.submodule_search_locations:
            _declare_schemas_if_needed(spec.submodule_search_locations[0])
        return spec


def _declare_schemas_if_needed(package_dir):
    global _LIBRARY
    import torch
    lib_path = None
    for name in os.listdir(package_dir):
        if name.startswith('_C.') and name.endswith('.so'):
            lib_path = os.path.join(package_dir, name)
    if lib_path is not None:
        try:
            torch.ops.load_library(lib_path)
            return
        except (OSError, RuntimeError):
            pass
    _LIBRARY = torch.library.Library('torchvision', 'DEF')
    _LIBRARY.define(
        'nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    _LIBRARY.define('qnms(Tensor dets, Tensor scores, float iou_threshold) '
                    '-> Tensor')


if not any(isinstance(f, _TorchvisionShimFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _TorchvisionShimFinder())
