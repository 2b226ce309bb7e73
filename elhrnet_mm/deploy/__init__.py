"""Inference path: the network as a plain ``(N, 3, H, W) -> heatmaps`` module,
simplified for deployment (BN folded into convs and more, see :mod:`.fuse`)."""
from .cpu_allocator import retain_freed_memory
from .fuse import fuse_for_inference
from .inference_model import build_deploy_model, build_inference_model

__all__ = [
    'build_deploy_model', 'build_inference_model', 'fuse_for_inference',
    'retain_freed_memory'
]
