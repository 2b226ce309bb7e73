"""Simplify a trained network for inference without changing its outputs.

:func:`fuse_for_inference` puts the model in eval mode and then applies only
rewrites that compute the same function (up to float rounding):

1. **BatchNorm folding.** An eval-mode BN is the per-channel affine map
   ``y = scale * x + shift`` (:func:`bn_scale_shift`). It is folded into the
   layer that produces its input wherever that layer is known to feed it
   directly: adjacent children of an ``nn.Sequential`` (whose child order
   is its execution order), mmcv's ``ConvModule`` (conv then norm), and
   MMPose's ``BasicBlock``/``Bottleneck`` (``convK`` feeds ``normK``).
   Producers are plain ``nn.Conv2d``/``nn.ConvTranspose2d`` (their weights
   and bias absorb the affine map, :func:`fold_affine`) and every module
   with a ``fold_affine(scale, shift)`` method (our blocks whose output is a
   per-channel linear function of their parameters, e.g. the dynamic-kernel
   bank of ``KernelAggregation`` or ``GhostModuleV2``). mmcv's
   ``fuse_conv_bn`` is not used: it pairs a BN with the last ``Conv2d``
   *registered* before it, which is wrong for blocks whose registration
   order is not their data flow (``GlobalContextModeling``'s mask conv and
   output norm, a conv subclass with its own forward) and crashes on
   transposed convs.
2. **Blocks' own rewrites.** Every module's ``switch_to_deploy()`` (BNs
   that follow a concatenation, a gate or a sum, the MobilePoseNet
   transposed conv, ...; see the blocks).
3. **Identity removal and fast upsampling.** Folded BNs are removed from
   Sequentials (an ``nn.Identity`` elsewhere); ``nn.Upsample(nearest,
   integer factor)`` becomes :class:`~elhrnet_mm.models.blocks.
   nearest_upsample.NearestUpsample` (same values, several times faster on
   the CPU); grouped convs with one output per group become a depthwise
   conv and a sum (:class:`~elhrnet_mm.models.blocks.
   grouped_conv_as_depthwise.GroupedConvAsDepthwise`, optional).
4. Optionally ``channels_last`` weights and input (measured in
   docs/speed.md; off by default).
"""
from typing import Iterator, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks import wrappers
from mmpose.models.backbones import HRNet
from mmpose.models.backbones.resnet import BasicBlock, Bottleneck

from ..models.blocks.grouped_conv_as_depthwise import GroupedConvAsDepthwise
from ..models.blocks.nearest_upsample import NearestUpsample

#: ``forward`` implementations that compute the plain convolution with the
#: module's ``weight`` and ``bias`` (subclasses that override ``forward``
#: otherwise must provide ``fold_affine`` themselves).
_PLAIN_CONV_FORWARDS = {
    nn.Conv2d.forward, nn.ConvTranspose2d.forward, wrappers.Conv2d.forward,
    wrappers.ConvTranspose2d.forward
}
#: (conv, norm) attribute pairs of MMPose's ResNet blocks (HRNet uses them)
#: and of HRNet's stem, whose forward runs ``convK`` then ``normK``.
_RESNET_BLOCK_PAIRS = (('conv1', 'norm1_name'), ('conv2', 'norm2_name'),
                       ('conv3', 'norm3_name'))


def bn_scale_shift(bn: nn.modules.batchnorm._BatchNorm
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode BN as ``y = scale * x + shift``, each of shape (C, )."""
    std = torch.sqrt(bn.running_var + bn.eps)
    weight = bn.weight if bn.affine else torch.ones_like(std)
    bias = bn.bias if bn.affine else torch.zeros_like(std)
    scale = weight / std
    return scale.detach(), (bias - bn.running_mean * scale).detach()


def _is_eval_bn(module: nn.Module) -> bool:
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
def fold_affine(module: nn.Module, scale: torch.Tensor,
                shift: torch.Tensor) -> None:
    """Make ``module(x)`` compute ``scale * module(x) + shift`` (per output
    channel), in place.

    Args:
        module: a plain ``nn.Conv2d`` / ``nn.ConvTranspose2d`` (weights and
            bias absorb the map) or a module with its own
            ``fold_affine(scale, shift)``.
        scale, shift (Tensor): shape (C_out, ).
    """
    own = getattr(module, 'fold_affine', None)
    if callable(own):
        own(scale, shift)
        return
    if not can_fold_affine(module):
        raise TypeError(f'cannot fold an affine map into {type(module)}')
    weight = module.weight
    if isinstance(module, nn.ConvTranspose2d):
        # (C_in, C_out / groups, kh, kw): output channel g * C_out/g + j
        g = module.groups
        view = weight.view(g, weight.shape[0] // g, weight.shape[1],
                           *weight.shape[2:])
        view.mul_(scale.view(g, 1, -1, *([1] * (weight.dim() - 2))))
    else:
        weight.mul_(scale.view(-1, *([1] * (weight.dim() - 1))))
    if module.bias is None:
        module.bias = nn.Parameter(shift.clone())
    else:
        module.bias.mul_(scale).add_(shift)


def _fold_bn(producer: nn.Module, bn: nn.Module) -> None:
    fold_affine(producer, *bn_scale_shift(bn))


def fold_bn_into(producer: nn.Module, bn: Optional[nn.Module]) -> bool:
    """Fold ``bn`` into ``producer`` (whose output it normalises) if ``bn``
    is an eval-mode BN and ``producer`` can absorb it; returns whether it
    did. The caller removes ``bn`` from the data flow."""
    if not (_is_eval_bn(bn) and can_fold_affine(producer)):
        return False
    _fold_bn(producer, bn)
    return True


def _fold_sequential(seq: nn.Sequential) -> int:
    """Fold BNs into the child just before them; remove them."""
    folded = 0
    names = list(seq._modules)
    for prev, name in zip(names, names[1:]):
        bn = seq._modules[name]
        producer = seq._modules[prev]
        if _is_eval_bn(bn) and can_fold_affine(producer):
            _fold_bn(producer, bn)
            seq._modules[name] = nn.Identity()
            folded += 1
    for name in names:
        if type(seq._modules[name]) is nn.Identity and len(seq._modules) > 1:
            del seq._modules[name]
    return folded


def _fold_conv_module(module: ConvModule) -> int:
    order = tuple(module.order)
    if not (module.with_norm and _is_eval_bn(module.norm)
            and order.index('norm') == order.index('conv') + 1
            and can_fold_affine(module.conv)):
        return 0
    _fold_bn(module.conv, module.norm)
    module.with_norm = False
    setattr(module, module.norm_name, nn.Identity())
    return 1


def _fold_resnet_block(block: nn.Module) -> int:
    folded = 0
    for conv_name, norm_attr in _RESNET_BLOCK_PAIRS:
        norm_name = getattr(block, norm_attr, None)
        conv = getattr(block, conv_name, None)
        bn = getattr(block, norm_name, None) if norm_name else None
        if _is_eval_bn(bn) and can_fold_affine(conv):
            _fold_bn(conv, bn)
            setattr(block, norm_name, nn.Identity())
            folded += 1
    return folded


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every eval-mode BN whose producer is known (module docstring,
    step 1) into it; returns how many were folded."""
    folded = 0
    for module in list(model.modules()):
        if isinstance(module, ConvModule):
            folded += _fold_conv_module(module)
        elif isinstance(module, (BasicBlock, Bottleneck, HRNet)):
            folded += _fold_resnet_block(module)
        elif (isinstance(module, nn.Sequential)
              and type(module).forward is nn.Sequential.forward):
            folded += _fold_sequential(module)
    return folded


def _named_children_everywhere(
        model: nn.Module) -> Iterator[Tuple[nn.Module, str, nn.Module]]:
    for parent in list(model.modules()):
        for name, child in list(parent._modules.items()):
            if child is not None:
                yield parent, name, child


def replace_upsampling(model: nn.Module) -> int:
    """``nn.Upsample(mode='nearest', integer scale_factor)`` ->
    :class:`NearestUpsample`; returns how many were replaced."""
    replaced = 0
    for parent, name, child in _named_children_everywhere(model):
        if type(child) is not nn.Upsample or child.mode != 'nearest' \
                or child.size is not None:
            continue
        factor = child.scale_factor
        if isinstance(factor, tuple):
            if len(set(factor)) != 1:
                continue
            factor = factor[0]
        if float(factor).is_integer():
            parent._modules[name] = NearestUpsample(int(factor))
            replaced += 1
    return replaced


def replace_grouped_convs(model: nn.Module) -> int:
    """Grouped convs with one output per group ->
    :class:`GroupedConvAsDepthwise`; returns how many were replaced."""
    replaced = 0
    for parent, name, child in _named_children_everywhere(model):
        if GroupedConvAsDepthwise.applies_to(child):
            parent._modules[name] = GroupedConvAsDepthwise(child)
            replaced += 1
    return replaced


class _ChannelsLastInput:
    """Forward pre-hook giving the model channels_last input."""

    def __call__(self, module, args):
        return tuple(
            a.contiguous(memory_format=torch.channels_last)
            if isinstance(a, torch.Tensor) and a.dim() == 4 else a
            for a in args)


def fuse_for_inference(model: nn.Module,
                       channels_last: bool = False,
                       grouped_as_depthwise: bool = True) -> nn.Module:
    """Fold BN, apply every module's ``switch_to_deploy``, drop no-ops and
    use fast nearest upsampling, in place (module docstring).

    The result computes the same function as ``model.eval()`` (within float
    rounding; tests/test_deploy/test_fuse.py checks 1e-5 for every shipped
    config) and is returned in eval mode; it cannot be trained further.

    Args:
        model (nn.Module): the network (e.g.
            :func:`~elhrnet_mm.deploy.build_inference_model`'s).
        channels_last (bool): convert the 4-D weights and the input to
            ``torch.channels_last``. Default: False (faster for some models,
            slower for others on the CPU, docs/speed.md).
        grouped_as_depthwise (bool): compute grouped convs with one output
            per group as :class:`GroupedConvAsDepthwise`. Default: True.
    """
    for name, value in (('channels_last', channels_last),
                        ('grouped_as_depthwise', grouped_as_depthwise)):
        if not isinstance(value, bool):
            raise TypeError(f'fuse_for_inference {name} must be a bool, '
                            f'got {value!r}')
    model.eval()
    fold_batch_norms(model)
    for module in list(model.modules()):
        switch = getattr(module, 'switch_to_deploy', None)
        if callable(switch):
            switch()
    replace_upsampling(model)
    if grouped_as_depthwise:
        replace_grouped_convs(model)
    if channels_last:
        for param in model.parameters():
            if param.dim() == 4:  # conv kernels, not the DKA banks (5-D)
                param.data = param.data.contiguous(
                    memory_format=torch.channels_last)
        model.register_forward_pre_hook(_ChannelsLastInput())
    return model
