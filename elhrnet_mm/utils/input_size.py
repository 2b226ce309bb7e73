"""The input size of a config's network, as the tools read it."""
from typing import Optional, Sequence, Tuple

from mmengine.config import Config


def input_hw_of(cfg: Config,
                input_shape: Optional[Sequence[int]] = None
                ) -> Optional[Tuple[int, int]]:
    """(H, W) from an ``--input-shape`` or the codec's ``input_size``.

    Args:
        cfg (Config): a model config.
        input_shape (Sequence[int], optional): ``[H, W]`` or ``[S]`` (S x S),
            as the tools' ``--input-shape``; wins when given.

    Returns:
        (H, W), or None when neither is given: the codec (``cfg.codec`` or
        the head's ``decoder``) has no ``input_size``, which MMPose writes
        as (W, H).
    """
    if input_shape:
        return int(input_shape[0]), int(input_shape[-1])
    codec = cfg.get('codec')
    if not isinstance(codec, dict):
        codec = cfg.model.get('head', {}).get('decoder')
    if isinstance(codec, dict) and codec.get('input_size'):
        width, height = codec['input_size']
        return int(height), int(width)
    return None
