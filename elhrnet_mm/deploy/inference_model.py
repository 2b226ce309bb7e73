"""Build the inference network of a config: image batch in, heatmaps out."""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config

from ..utils.mmpose_models import build_estimator
from .bn_calibration import calibrate_batch_norms, calibration_batch
from .fuse import fuse_for_inference


class HeatmapNetwork(nn.Module):
    """Backbone, neck and head of a top-down estimator, nothing else.

    No data preprocessor (inputs are normalised images), no codec decoding,
    no flip test: ``(N, 3, H, W) -> (N, K, H / s, W / s)`` heatmaps, where
    ``s`` is the model's output stride, or, for a SimCC head (RTMPose's
    ``RTMCCHead``), the tuple ``(simcc_x (N, K, W * r), simcc_y (N, K,
    H * r))`` that the head returns (the exporter names the outputs by head
    type, :func:`~.onnx_export.output_names`).
    """

    def __init__(self, estimator: nn.Module):
        super().__init__()
        self.backbone = estimator.backbone
        self.neck = getattr(estimator, 'neck', None)
        self.head = estimator.head

    def forward(self, inputs: torch.Tensor
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
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


def build_deploy_model(cfg: Config,
                       input_hw: Tuple[int, int],
                       checkpoint: Optional[str] = None,
                       fuse: bool = True,
                       batch: int = 8,
                       channels_last: bool = False) -> nn.Module:
    """:func:`build_inference_model`, with calibrated BN
    statistics when there are no trained weights.

    Without ``checkpoint`` the BNs are calibrated (before fusing) on a
    :func:`~.bn_calibration.calibration_batch` of ``batch`` images at ``input_hw``.

    Args:
        cfg (Config): the model config.
        input_hw (tuple[int, int]): (H, W) of the calibration images.
        checkpoint (str, optional): trained weights (no calibration).
        fuse (bool): apply :func:`~elhrnet_mm.deploy.fuse_for_inference`.
        batch (int): calibration images. Default: 8.
        channels_last (bool): with ``fuse``, use ``torch.channels_last``
            (:func:`~elhrnet_mm.deploy.fuse_for_inference`). Default: False.
    """
    model = build_inference_model(cfg, checkpoint, fuse=False)
    if checkpoint is None:
        calibrate_batch_norms(model,
                              [calibration_batch(cfg, batch, *input_hw)])
    if not fuse:
        return model
    return fuse_for_inference(model, channels_last=channels_last)
