"""Helpers the blocks share: BN folding (the deploy forms' primitives)."""
from .bn_folding import (ChannelAffine, bn_scale_shift, can_fold_affine,
                         fold_affine, fold_bn_into, is_eval_bn)

__all__ = [
    'ChannelAffine', 'bn_scale_shift', 'can_fold_affine', 'fold_affine',
    'fold_bn_into', 'is_eval_bn'
]
