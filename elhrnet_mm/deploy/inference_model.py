"""Build the inference network of a config: image batch in, heatmaps out."""
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.config import Config

from ..utils.complexity import build_estimator
from .fuse import fuse_for_inference


class HeatmapNetwork(nn.Module):
    """Backbone, neck and head of a top-down estimator, nothing else.

    No data preprocessor (inputs are normalised images), no codec decoding,
    no flip test: ``(N, 3, H, W) -> (N, K, H / s, W / s)`` where ``s`` is the
    model's output stride.
    """

    def __init__(self, estimator: nn.Module):
        super().__init__()
        self.backbone = estimator.backbone
        self.neck = getattr(estimator, 'neck', None)
        self.head = estimator.head

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(inputs)
        if self.neck is not None:
            feats = self.neck(feats)
        return self.head.forward(feats)


def build_inference_model(config: Union[str, Config],
                          checkpoint: Optional[str] = None,
                          fuse: bool = True,
                          channels_last: bool = False) -> HeatmapNetwork:
    """The config's network on the CPU in eval mode, optionally fused.

    Args:
        config (str | Config): a model config (path or loaded).
        checkpoint (str, optional): weights to load (mmengine checkpoint,
            loaded with ``weights_only``-safe rules of this package).
        fuse (bool): apply :func:`fuse_for_inference`. Default: True.
        channels_last (bool): with ``fuse``, convert the network (and its
            input) to ``torch.channels_last``. Default: False.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    estimator = build_estimator(cfg)
    if checkpoint is not None:
        from mmengine.runner import load_checkpoint
        load_checkpoint(estimator, checkpoint, map_location='cpu',
                        strict=True)
    network = HeatmapNetwork(estimator).eval()
    if not fuse:
        return network
    return fuse_for_inference(network, channels_last=channels_last)
