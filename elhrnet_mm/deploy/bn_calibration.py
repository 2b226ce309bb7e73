"""Give an untrained network realistic, well-conditioned BatchNorm statistics.

A freshly built network (PyTorch's default initialisation, no checkpoint)
in eval mode normalises with running mean 0 and variance 1 while its
activations shrink layer by layer: in EDite-HRNet and MobilePoseNet the
backbone output is ~1e-8 and the heatmaps do not depend on the input at
all, so comparing two implementations of it (ONNX Runtime vs PyTorch, fused
vs not) would compare constants. :func:`calibrate_batch_norms` sets every
BN's running statistics to those of a calibration batch (as a trained
network's are to its data), so the signal reaches the output, and scales
every BN weight by ``gain`` < 1. Without that gain the calibrated Dite-HRNet
and EDite-HRNet are chaotic (their multiplicative attention amplifies
rounding: float32 and float64 heatmaps of Dite-18 at 256x192 differed by
1.6e4 on a rendered person at gain 1, by 7e-7 at gain 0.85), and no two
implementations could agree on them. :func:`~elhrnet_mm.deploy.build_deploy_model` builds a
config's inference network that way when no checkpoint is given; the
exporter and the speed benchmark use it.
"""
from typing import Iterable

import torch
import torch.nn as nn
from mmengine.config import Config

from .sample_inputs import normalised_mannequins

#: BN weight factor after calibration (module docstring).
CALIBRATION_GAIN = 0.85


@torch.no_grad()
def calibrate_batch_norms(model: nn.Module,
                          batches: Iterable[torch.Tensor],
                          gain: float = CALIBRATION_GAIN) -> int:
    """Set every BatchNorm's running mean/var to the average batch
    statistics over ``batches`` and multiply its weight by ``gain``, in
    place; returns how many BNs were set.

    Call on the network before BN folding. The model is left in eval mode.

    Args:
        model (nn.Module): e.g. ``build_inference_model(cfg, fuse=False)``.
        batches (Iterable[Tensor]): inputs (N, 3, H, W), N >= 2.
        gain (float): factor on every affine BN weight. Default:
            :data:`CALIBRATION_GAIN`.
    """
    norms = [
        m for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        and m.track_running_stats
    ]
    saved = [m.momentum for m in norms]
    model.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches
        norm.train()
    try:
        for batch in batches:
            model(batch)
    finally:
        for norm, momentum in zip(norms, saved):
            norm.momentum = momentum
        model.eval()
    for norm in norms:
        if norm.affine:
            norm.weight.mul_(gain)
    return len(norms)


def calibration_batch(cfg: Config, batch: int, height: int,
                      width: int) -> torch.Tensor:
    """Half rendered people (:func:`~.sample_inputs.normalised_mannequins`,
    seed 1), half standard normal noise (seed 1): every channel varies.

    Returns:
        Tensor: (batch, 3, height, width), batch >= 2.
    """
    people = normalised_mannequins(cfg, batch // 2, height, width, seed=1)
    noise = torch.randn(
        batch - batch // 2, 3, height, width,
        generator=torch.Generator().manual_seed(1))
    return torch.cat([people, noise])
