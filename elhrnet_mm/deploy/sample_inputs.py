"""Network inputs for checks: random and rendered-person images."""
from typing import Dict

import numpy as np
import torch
from mmengine.config import Config


def normalised_mannequins(cfg: Config,
                          batch: int,
                          height: int,
                          width: int,
                          seed: int = 0) -> torch.Tensor:
    """Synthetic person crops, normalised like the config's
    ``data_preprocessor`` (mean/std, BGR to RGB): real-looking inputs.

    Each is a rendered scene of one mannequin
    (:func:`~elhrnet_mm.datasets.mannequin_renderer.render_image`) at
    ``width`` x ``height``.

    Returns:
        Tensor: float32, shape (batch, 3, height, width).
    """
    from ..datasets.mannequin_renderer import render_image
    pre = cfg.model.get('data_preprocessor') or {}
    mean = np.asarray(pre.get('mean', (0., 0., 0.)), np.float32)
    std = np.asarray(pre.get('std', (1., 1., 1.)), np.float32)
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(batch):
        image, _ = render_image(rng, width, height, max_people=1)
        if pre.get('bgr_to_rgb', False):
            image = image[..., ::-1]
        images.append((image.astype(np.float32) - mean) / std)
    return torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).copy())


def verification_inputs(cfg: Config,
                        batch: int,
                        height: int,
                        width: int,
                        seed: int = 0) -> Dict[str, torch.Tensor]:
    """Inputs to compare PyTorch and ONNX Runtime on: ``'random'``
    (standard normal) and ``'mannequin'`` (:func:`normalised_mannequins`),
    each float32 (batch, 3, height, width)."""
    generator = torch.Generator().manual_seed(seed)
    return {
        'random': torch.randn(batch, 3, height, width, generator=generator),
        'mannequin': normalised_mannequins(cfg, batch, height, width, seed),
    }
