"""Folding an eval-mode BatchNorm (a per-channel affine map) into the layer
that produces its input.

An eval-mode BN is ``y = scale * x + shift`` per channel
(:func:`bn_scale_shift`). :func:`fold_affine` makes a producer compute
``scale * producer(x) + shift`` itself: a plain ``nn.Conv2d`` /
``nn.ConvTranspose2d`` absorbs the map into its weights and bias; a block
with a ``fold_affine(scale, shift)`` method does it its own way.

Contract: ``fold_affine`` (the function and the method) *returns* the module
that computes the folded output -- the producer itself when it absorbed the
map into its own weights, or a new replacement module (e.g.
:class:`~elhrnet_mm.models.blocks.folded_ghost_module_v2.
FoldedGhostModuleV2`) -- and the caller puts the returned module in the
producer's place. No block keeps "folded"
state that its training forward would have to branch on.

These are the primitives of :func:`~elhrnet_mm.deploy.fuse_for_inference`
and of the blocks' own ``switch_to_deploy``; they live beside the models (as
MMPose keeps its reparameterisation helpers) so that the models never import
``deploy``.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn.bricks import wrappers

#: ``forward`` implementations that compute the plain convolution with the
#: module's ``weight`` and ``bias`` (subclasses that override ``forward``
#: otherwise must provide ``fold_affine`` themselves).
_PLAIN_CONV_FORWARDS = {
    nn.Conv2d.forward, nn.ConvTranspose2d.forward, wrappers.Conv2d.forward,
    wrappers.ConvTranspose2d.forward
}


class ChannelAffine(nn.Module):
    """``scale * x + shift`` per channel, as one ``addcmul``: the folded BN
    of a deploy form whose producer cannot absorb it (e.g. a map the next
    layer also reads unnormalised). Starts as the identity; :meth:`compose`
    appends further maps.

    Args:
        channels (int): C.
        like (Tensor): dtype and device of the buffers.

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); :attr:`scale`,
        :attr:`shift` (1, C, 1, 1).
    """

    def __init__(self, channels: int, like: torch.Tensor):
        super().__init__()
        shape = (1, channels, 1, 1)
        self.register_buffer('scale', like.new_ones(shape))
        self.register_buffer('shift', like.new_zeros(shape))

    @torch.no_grad()
    def compose(self, scale: torch.Tensor, shift: torch.Tensor) -> None:
        """Apply ``scale * y + shift`` (shape (C, ) each) after this map,
        in place."""
        scale, shift = scale.view(1, -1, 1, 1), shift.view(1, -1, 1, 1)
        self.shift = self.shift * scale + shift
        self.scale = self.scale * scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.shift, x, self.scale)


def bn_scale_shift(bn: nn.modules.batchnorm._BatchNorm
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode BN as ``y = scale * x + shift``, each of shape (C, )."""
    std = torch.sqrt(bn.running_var + bn.eps)
    weight = bn.weight if bn.affine else torch.ones_like(std)
    bias = bn.bias if bn.affine else torch.zeros_like(std)
    scale = weight / std
    return scale.detach(), (bias - bn.running_mean * scale).detach()


def is_eval_bn(module: Optional[nn.Module]) -> bool:
    """An eval-mode BN with running statistics (a fixed affine map)."""
    return (isinstance(module, nn.modules.batchnorm._BatchNorm)
            and not module.training and module.track_running_stats
            and module.running_var is not None)


def can_fold_affine(module: Optional[nn.Module]) -> bool:
    """Whether :func:`fold_affine` can absorb an affine map after
    ``module``."""
    if module is None:
        return False
    if callable(getattr(module, 'fold_affine', None)):
        return True
    return (isinstance(module, (nn.Conv2d, nn.ConvTranspose2d))
            and type(module).forward in _PLAIN_CONV_FORWARDS)


@torch.no_grad()
def _fold_into_conv(conv: nn.Module, scale: torch.Tensor,
                    shift: torch.Tensor) -> None:
    weight = conv.weight
    if isinstance(conv, nn.ConvTranspose2d):
        # (C_in, C_out / groups, kh, kw): output channel g * C_out/g + j
        g = conv.groups
        view = weight.view(g, weight.shape[0] // g, weight.shape[1],
                           *weight.shape[2:])
        view.mul_(scale.view(g, 1, -1, *([1] * (weight.dim() - 2))))
    else:
        weight.mul_(scale.view(-1, *([1] * (weight.dim() - 1))))
    if conv.bias is None:
        conv.bias = nn.Parameter(shift.clone())
    else:
        conv.bias.mul_(scale).add_(shift)


@torch.no_grad()
def fold_affine(module: nn.Module, scale: torch.Tensor,
                shift: torch.Tensor) -> nn.Module:
    """The module computing ``scale * module(x) + shift`` (per output
    channel): ``module`` itself, changed in place, or the replacement its
    own ``fold_affine`` returns. Put the result in ``module``'s place.

    Args:
        module: a plain ``nn.Conv2d`` / ``nn.ConvTranspose2d`` (weights and
            bias absorb the map) or a module with its own
            ``fold_affine(scale, shift)`` returning the folded module.
        scale, shift (Tensor): shape (C_out, ).

    Raises:
        TypeError: ``module`` cannot absorb the map, or its ``fold_affine``
            did not return a module.
    """
    own = getattr(module, 'fold_affine', None)
    if callable(own):
        folded = own(scale, shift)
        if not isinstance(folded, nn.Module):
            raise TypeError(
                f'{type(module).__name__}.fold_affine must return the folded '
                f'module (itself or a replacement), got {type(folded)}')
        return folded
    if not can_fold_affine(module):
        raise TypeError(f'cannot fold an affine map into {type(module)}')
    _fold_into_conv(module, scale, shift)
    return module


def fold_bn_into(producer: nn.Module,
                 bn: Optional[nn.Module]) -> Optional[nn.Module]:
    """Fold ``bn`` into ``producer`` (whose output it normalises) if ``bn``
    is an eval-mode BN and ``producer`` can absorb it.

    Returns the module to put in ``producer``'s place (see
    :func:`fold_affine`), or None when nothing was folded. The caller also
    removes ``bn`` from the data flow.
    """
    if not (is_eval_bn(bn) and can_fold_affine(producer)):
        return None
    return fold_affine(producer, *bn_scale_shift(bn))
