"""Necks (decoders) registered in ``mmpose.registry.MODELS``."""
from .lpb_decoder import LPBDecoder

__all__ = ['LPBDecoder']
