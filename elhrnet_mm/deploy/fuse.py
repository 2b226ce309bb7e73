"""Simplify a trained network for inference without changing its outputs.

:func:`fuse_for_inference` puts the model in eval mode and then applies only
rewrites that compute the same function (up to float rounding):

1. **BatchNorm folding.** An eval-mode BN is the per-channel affine map
   ``y = scale * x + shift``. It is folded into the layer that produces its
   input wherever that layer is known to feed it directly: adjacent
   children of an ``nn.Sequential`` (whose child order is its execution
   order), mmcv's ``ConvModule`` (conv then norm), and MMPose's
   ``BasicBlock``/``Bottleneck`` (``convK`` feeds ``normK``), with the
   primitives of :mod:`elhrnet_mm.models.utils.bn_folding`. Producers are
   plain ``nn.Conv2d``/``nn.ConvTranspose2d`` (their weights and bias
   absorb the affine map) and every module with a ``fold_affine(scale,
   shift)`` method (our blocks whose output is a per-channel linear
   function of their parameters, e.g. the dynamic-kernel bank of
   ``KernelAggregation`` or ``GhostModuleV2``), which returns the module
   to put in the producer's place. mmcv's ``fuse_conv_bn`` is not used: it
   pairs a BN with the last ``Conv2d`` *registered* before it, which is
   wrong for blocks whose registration order is not their data flow
   (``GlobalContextModeling``'s mask conv and output norm, a conv subclass
   with its own forward) and crashes on transposed convs.
2. **Blocks' own rewrites** (:func:`switch_to_deploy`). Every module's
   ``switch_to_deploy()`` (BNs that follow a concatenation, a gate or a
   sum, the MobilePoseNet transposed conv, ...; see the blocks) returns its
   deploy form, a replacement module put in its parent's slot, or None
   when it only replaced its own children.
3. **Identity removal and fast upsampling.** Folded BNs are removed from
   Sequentials (an ``nn.Identity`` elsewhere); ``nn.Upsample(nearest,
   integer factor)`` becomes :class:`~elhrnet_mm.deploy.
   nearest_upsample.NearestUpsample` (same values, several times faster on
   the CPU); grouped convs with one output per group become a depthwise
   conv and a sum (:class:`~elhrnet_mm.deploy.grouped_conv_as_depthwise.
   GroupedConvAsDepthwise`, optional).
4. **Graph-runtime forms** (:func:`~.rewrites.apply_graph_rewrites`):
   replacements whose exported graph ONNX Runtime / OpenVINO run faster
   (eager forward unchanged; measured in docs/speed.md).
5. Optionally ``channels_last`` weights and input (measured in
   docs/speed.md; off by default).
"""
from typing import Dict, Iterator, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmpose.models.backbones import HRNet
from mmpose.models.backbones.resnet import BasicBlock, Bottleneck

from ..models.utils.bn_folding import fold_bn_into
from .grouped_conv_as_depthwise import GroupedConvAsDepthwise
from .nearest_upsample import NearestUpsample
from .rewrites import apply_graph_rewrites

#: (conv, norm) attribute pairs of MMPose's ResNet blocks (HRNet uses them)
#: and of HRNet's stem, whose forward runs ``convK`` then ``normK``.
_RESNET_BLOCK_PAIRS = (('conv1', 'norm1_name'), ('conv2', 'norm2_name'),
                       ('conv3', 'norm3_name'))


def _fold_sequential(seq: nn.Sequential) -> int:
    """Fold BNs into the child just before them; remove them."""
    folded = 0
    names = list(seq._modules)
    for prev, name in zip(names, names[1:]):
        folded_producer = fold_bn_into(seq._modules[prev], seq._modules[name])
        if folded_producer is not None:
            seq._modules[prev] = folded_producer
            seq._modules[name] = nn.Identity()
            folded += 1
    for name in names:
        if type(seq._modules[name]) is nn.Identity and len(seq._modules) > 1:
            del seq._modules[name]
    return folded


def _fold_conv_module(module: ConvModule) -> int:
    order = tuple(module.order)
    if not (module.with_norm
            and order.index('norm') == order.index('conv') + 1):
        return 0
    conv = fold_bn_into(module.conv, module.norm)
    if conv is None:
        return 0
    module.conv = conv
    module.with_norm = False
    setattr(module, module.norm_name, nn.Identity())
    return 1


def _fold_resnet_block(block: nn.Module) -> int:
    folded = 0
    for conv_name, norm_attr in _RESNET_BLOCK_PAIRS:
        norm_name = getattr(block, norm_attr, None)
        conv = getattr(block, conv_name, None)
        bn = getattr(block, norm_name, None) if norm_name else None
        conv = fold_bn_into(conv, bn)
        if conv is not None:
            setattr(block, conv_name, conv)
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


def _switched(module: nn.Module) -> nn.Module:
    """``module``'s deploy form: its ``switch_to_deploy()`` result if that
    is a module (a replacement), else ``module`` (unchanged, or rewritten
    only inside)."""
    switch = getattr(module, 'switch_to_deploy', None)
    replacement = switch() if callable(switch) else None
    if replacement is not None and not isinstance(replacement, nn.Module):
        raise TypeError(f'{type(module).__name__}.switch_to_deploy must '
                        'return a replacement module or None, got '
                        f'{type(replacement)}')
    return module if replacement is None else replacement


def switch_to_deploy(model: nn.Module) -> nn.Module:
    """Apply every module's ``switch_to_deploy()`` once, parents before
    their children, on the live module tree, in place; returns the model (a
    replacement when the root itself has a deploy form).

    The contract (docs/architecture.md): ``switch_to_deploy()`` returns the
    module's deploy form, a replacement that this function puts in the
    parent's slot, or None when the module only replaced its own children
    (e.g. a BN by an ``nn.Identity``). A deploy form may wrap the module it
    replaces (reusing its layers, e.g. ``FoldedGlobalContextModeling``); the
    children of both are visited next, so reused layers are switched too.
    """
    # id -> (module, its deploy form); the module is kept so that its id is
    # not reused by a later object while this runs
    forms: Dict[int, Tuple[nn.Module, nn.Module]] = {}

    def visit(module: nn.Module) -> nn.Module:
        if id(module) in forms:
            return forms[id(module)][1]
        form = _switched(module)
        forms[id(module)] = (module, form)
        forms.setdefault(id(form), (form, form))
        for owner in (form, module) if form is not module else (form, ):
            for name, child in list(owner._modules.items()):
                if child is None:
                    continue
                child_form = visit(child)
                if child_form is not owner:  # a form keeps what it wraps
                    owner._modules[name] = child_form
        return form

    return visit(model)


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
    use fast nearest upsampling, in place (module docstring). Use the
    returned module: it is ``model`` unless ``model`` itself has a deploy
    form (e.g. a single block).

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
    model = switch_to_deploy(model)
    replace_upsampling(model)
    if grouped_as_depthwise:
        replace_grouped_convs(model)
    apply_graph_rewrites(model)
    if channels_last:
        for param in model.parameters():
            if param.dim() == 4:  # conv kernels, not the DKA banks (5-D)
                param.data = param.data.contiguous(
                    memory_format=torch.channels_last)
        model.register_forward_pre_hook(_ChannelsLastInput())
    return model.eval()  # replacement modules are built in training mode
