"""Official Dite-HRNet checkpoints (MMPose 0.x) onto our ``DiteHRNet``.

The Dite-HRNet authors (Li et al., IJCAI 2022) released COCO and MPII
checkpoints of their MMPose 0.x code (https://github.com/ZiyiZhang27/Dite-HRNet,
``models/backbones/ditehrnet.py``; the download links are in the repository's
issue #3). They are ``TopDown`` models: ``backbone.*`` (class ``DiteHRNet``)
and ``keypoint_head.*`` (``TopdownHeatmapSimpleHead`` without deconvs, one
1x1 ``final_layer``). This module renames them to our
:class:`~elhrnet_mm.models.DiteHRNet` inside MMPose 1.x's
``TopdownPoseEstimator`` (``backbone.*``, ``head.*``).

Where the official modules and ours differ in name:

* stem: ``stem.branch1.{0,1,2}`` / ``stem.branch2.{0,...,4}`` are our
  ``stem.block.branch1.{dw,gcm,pw}`` / ``stem.block.branch2.{dw,gcm,reduce,
  expand,down}`` (:class:`~elhrnet_mm.models.blocks.DGCBlock`);
* a "ConvBN" (``conv`` + ``bn``) is our ``DynamicConvModule`` (``0`` +
  ``1``); its DKA ``conv.attention.{conv1,bn,conv2}`` and
  ``conv.aggregation`` are our ``DynamicKernelConv``'s ``reduce``, ``norm``,
  ``fc`` and ``aggregation``;
* the context blocks' ``channel_attention.{0,1,3}`` (conv, BN, conv) are our
  ``channel_attention.0.conv``, ``channel_attention.0.bn``,
  ``channel_attention.1``; GCM's output ``bn`` is our ``norm``;
* the DMC block's dynamic split convs ``conv.{b}.conv.{i}`` are our
  ``dsc.{b}.convs.{i}``; DCM's ``conv_mask.{i}`` is our ``conv_masks.{i}``.
  The official DCM also builds a ``conv_mask`` for its lowest-resolution
  branch that its forward never uses; we do not build it, and it is the only
  tensor dropped.

Transitions, fuse layers and the iterative head keep MMPose's Lite-HRNet
names in both. Everything is checked against our model built from a config
of the same depth: a key with no rule, a key our model lacks or does not
have, and a tensor of another shape are all reported, with the file, and
nothing is written.
"""
import os
import os.path as osp
import re
from collections import defaultdict
from typing import Dict, List, Mapping, Optional, Tuple

import torch

from ..engine.atomic_files import PARTIAL_SUFFIX, publish
from ..utils.checkpoint_safety import load_local_checkpoint

#: ``stages_spec.num_modules`` of the official models, by depth.
OFFICIAL_NUM_MODULES = {18: (2, 4, 2), 30: (3, 8, 3)}
#: Our config of each (depth, keypoints), relative to ``configs/``; any
#: config of the same depth and keypoint count takes the same weights.
DEFAULT_CONFIGS = {
    (18, 17): 'dite_hrnet/td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py',
    (30, 17): 'dite_hrnet/td-hm_dite-hrnet-30_8xb32-270e_coco-256x192.py',
    (18, 16): 'dite_hrnet/td-hm_dite-hrnet-18_8xb32-260e_mpii-256x256.py',
    (30, 16): 'dite_hrnet/td-hm_dite-hrnet-30_8xb32-260e_mpii-256x256.py',
}
#: Keys listed per kind of mismatch before "... and N more".
MAX_LISTED = 20

_BN = r'(weight|bias|running_mean|running_var|num_batches_tracked)'
#: Official DGC stem positions (index in ``branch{1,2}``) -> ours.
_STEM_POSITIONS = {
    'branch1': ('dw', 'gcm', 'pw'),
    'branch2': ('dw', 'gcm', 'reduce', 'expand', 'down'),
}
#: Inside an official ConvBN / ConvBNReLU / Conv1x1BN(ReLU).
_CONV_BN_RULES = [
    (r'conv\.attention\.conv1\.weight', '0.reduce.weight'),
    (rf'conv\.attention\.bn\.{_BN}', r'0.norm.\1'),
    (r'conv\.attention\.conv2\.(weight|bias)', r'0.fc.\1'),
    (r'conv\.aggregation\.weight', '0.aggregation.weight'),
    (r'conv\.weight', '0.weight'),
    (rf'bn\.{_BN}', r'1.\1'),
]
#: The channel-attention MLP of the official GCM and DCM.
_ATTENTION_RULES = [
    (r'channel_attention\.0\.weight', 'channel_attention.0.conv.weight'),
    (rf'channel_attention\.1\.{_BN}', r'channel_attention.0.bn.\1'),
    (r'channel_attention\.3\.(weight|bias)', r'channel_attention.1.\1'),
]
_GCM_RULES = [(r'conv_mask\.(weight|bias)', r'conv_mask.\1')
              ] + _ATTENTION_RULES + [(rf'bn\.{_BN}', r'norm.\1')]
_DCM_RULES = [(r'conv_mask\.(\d+)\.(weight|bias)', r'conv_masks.\1.\2')
              ] + _ATTENTION_RULES
_BLOCK = r'(stage\d+\.\d+\.layers\.\d+)'


class ConversionError(ValueError):
    """The file is not an official Dite-HRNet checkpoint that fits."""


def _apply(rules: List[Tuple[str, str]], rest: str) -> Optional[str]:
    for pattern, repl in rules:
        match = re.fullmatch(pattern, rest)
        if match:
            return match.expand(repl)
    return None


def _join(prefix: str, rest: Optional[str]) -> Optional[str]:
    return None if rest is None else f'{prefix}.{rest}'


def _backbone_key(key: str) -> Optional[str]:
    """Our name of an official backbone key (without ``backbone.``)."""
    if re.fullmatch(rf'stem\.conv1\.(conv\.weight|bn\.{_BN})', key):
        return key
    match = re.fullmatch(r'stem\.(branch[12])\.(\d+)\.(.+)', key)
    if match:
        branch, index, rest = match.groups()
        positions = _STEM_POSITIONS[branch]
        if int(index) >= len(positions):
            return None
        position = positions[int(index)]
        rules = _GCM_RULES if position == 'gcm' else _CONV_BN_RULES
        return _join(f'stem.block.{branch}.{position}', _apply(rules, rest))
    match = re.fullmatch(rf'{_BLOCK}\.dcm\.(.+)', key)
    if match:
        return _join(f'{match[1]}.dcm', _apply(_DCM_RULES, match[2]))
    match = re.fullmatch(rf'{_BLOCK}\.conv\.(\d+)\.conv\.(\d+)\.(.+)', key)
    if match:
        block, branch, split, rest = match.groups()
        return _join(f'{block}.dsc.{branch}.convs.{split}',
                     _apply(_CONV_BN_RULES, rest))
    match = re.fullmatch(rf'{_BLOCK}\.gcm\.(\d+)\.(.+)', key)
    if match:
        return _join(f'{match[1]}.gcm.{match[2]}',
                     _apply(_GCM_RULES, match[3]))
    # MMPose's Lite-HRNet names in both: checked against our model
    if re.fullmatch(r'(stage\d+\.\d+\.fuse_layers|transition\d+|head_layer)'
                    r'\..+', key):
        return key
    return None


def official_to_ours(key: str) -> Optional[str]:
    """Our estimator's name of an official checkpoint key, or None when no
    rule covers it."""
    if key.startswith('backbone.'):
        return _join('backbone', _backbone_key(key[len('backbone.'):]))
    match = re.fullmatch(r'keypoint_head\.final_layer\.(weight|bias)', key)
    return f'head.final_layer.{match[1]}' if match else None


def unused_dcm_masks(keys) -> List[str]:
    """The official DCMs' ``conv_mask`` of their last branch: in every DMC
    block with branches ``0..B-1`` (its ``conv.{b}``), ``dcm.conv_mask.{B-1}``.
    """
    branches = defaultdict(set)
    for key in keys:
        match = re.match(rf'backbone\.{_BLOCK}\.conv\.(\d+)\.', key)
        if match:
            branches[match[1]].add(int(match[2]))
    return sorted(k for k in keys for block, bs in branches.items()
                  if re.fullmatch(
                      rf'backbone\.{re.escape(block)}\.dcm\.conv_mask\.'
                      rf'{max(bs)}\.(weight|bias)', k))


def _listing(title: str, items: List[str]) -> str:
    shown = items[:MAX_LISTED]
    more = len(items) - len(shown)
    return f'  {len(items)} {title}: ' + ', '.join(shown) + (
        f', ... and {more} more' if more else '')


def official_state_dict(checkpoint, source: str) -> Dict[str, torch.Tensor]:
    """The tensors of a loaded checkpoint (its ``state_dict`` entry, or the
    object itself when it is already a flat dict of tensors)."""
    state = checkpoint
    if isinstance(checkpoint, Mapping) and 'state_dict' in checkpoint:
        state = checkpoint['state_dict']
    if (not isinstance(state, Mapping) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor)
            for k, v in state.items())):
        raise ConversionError(
            f'{source}: not a model checkpoint; expected a dict of tensors '
            "or a dict with a 'state_dict' entry holding one, got "
            f'{type(checkpoint).__name__}' +
            (f" with keys {sorted(map(str, checkpoint))[:MAX_LISTED]}"
             if isinstance(checkpoint, Mapping) else ''))
    return dict(state)


def detect_model(state: Mapping[str, torch.Tensor],
                 source: str) -> Tuple[int, int]:
    """(depth, keypoints) of an official checkpoint: the depth from the
    number of modules per stage, the keypoints from the final layer."""
    modules = defaultdict(int)
    for key in state:
        match = re.match(r'backbone\.stage(\d+)\.(\d+)\.', key)
        if match:
            stage, module = int(match[1]), int(match[2])
            modules[stage] = max(modules[stage], module + 1)
    found = tuple(modules[s] for s in range(len(modules)))
    depths = {v: k for k, v in OFFICIAL_NUM_MODULES.items()}
    if found not in depths:
        allowed = ', '.join(f'Dite-HRNet-{d} {m}'
                            for d, m in OFFICIAL_NUM_MODULES.items())
        counts = found or '(no backbone.stage* keys)'
        raise ConversionError(
            f'{source}: modules per stage {counts} match no official '
            f'Dite-HRNet; allowed: {allowed}. First keys: '
            f'{sorted(state)[:MAX_LISTED]}')
    head = state.get('keypoint_head.final_layer.weight')
    if head is None or head.dim() != 4:
        raise ConversionError(
            f'{source}: no keypoint_head.final_layer.weight (N, C, 1, 1); '
            'expected an MMPose 0.x TopDown checkpoint with a '
            'TopdownHeatmapSimpleHead. Head keys: '
            f'{sorted(k for k in state if not k.startswith("backbone."))}')
    return depths[found], int(head.shape[0])


def convert_state_dict(
        official: Mapping[str, torch.Tensor],
        reference: Mapping[str, torch.Tensor],
        source: str = 'the checkpoint',
        target: str = 'the model') -> Tuple[Dict[str, torch.Tensor],
                                             List[str]]:
    """Rename ``official`` to the keys of ``reference`` (our estimator's
    state dict) and return ``(converted, dropped official keys)``.

    Raises :class:`ConversionError` naming ``source`` and listing official
    keys no rule covers, converted keys ``reference`` does not have, keys of
    ``reference`` nothing maps to (BN ``num_batches_tracked`` counters may
    be absent) and tensors of another shape.
    """
    dropped = unused_dcm_masks(official)
    converted, origin, unmatched = {}, {}, []
    for key, value in official.items():
        if key in dropped:
            continue
        ours = official_to_ours(key)
        if ours is None:
            unmatched.append(key)
            continue
        converted[ours], origin[ours] = value, key
    extra = [f'{origin[k]} -> {k}' for k in converted if k not in reference]
    missing = [
        k for k in reference
        if k not in converted and not k.endswith('num_batches_tracked')
    ]
    shapes = [
        f'{origin[k]} {tuple(v.shape)} -> {k} {tuple(reference[k].shape)}'
        for k, v in converted.items()
        if k in reference and v.shape != reference[k].shape
    ]
    problems = [
        _listing(title, items) for title, items in (
            ('official keys no rule covers', unmatched),
            (f'converted keys {target} does not have', extra),
            (f'keys of {target} missing in it', missing),
            ('tensors of another shape (official -> ours)', shapes))
        if items
    ]
    if problems:
        raise ConversionError(
            f'{source} does not convert onto {target} (another architecture '
            'or depth, or not an official Dite-HRNet checkpoint):\n' +
            '\n'.join(problems))
    return converted, dropped


def reference_estimator(config: str) -> torch.nn.Module:
    """Our top-down estimator of ``config``, built without weights."""
    from mmengine.config import Config

    from ..utils.mmpose_models import build_estimator
    return build_estimator(Config.fromfile(config))


def default_config(depth: int, keypoints: int, source: str) -> str:
    """Our shipped config for an official (depth, keypoints) checkpoint."""
    from ..zoo import configs_root
    if (depth, keypoints) not in DEFAULT_CONFIGS:
        raise ConversionError(
            f'{source}: Dite-HRNet-{depth} with {keypoints} keypoints has no '
            'shipped config (17: COCO, 16: MPII); pass one with --config')
    return osp.join(configs_root(), DEFAULT_CONFIGS[(depth, keypoints)])


def convert_checkpoint(src: str,
                       dst: str,
                       config: Optional[str] = None) -> dict:
    """Convert the official checkpoint ``src`` into ``dst``.

    ``config`` is our config the weights must fit (default: the shipped
    config of the checkpoint's depth and keypoint count). ``dst`` is written
    only when the whole mapping succeeds (a ``.partial`` file renamed into
    place). Returns a report: ``depth``, ``keypoints``, ``config``,
    ``tensors`` (written), ``dropped`` (official keys left out).
    """
    if osp.exists(dst) and osp.exists(src) and osp.samefile(src, dst):
        raise ConversionError(f'{dst}: output would overwrite the input')
    state = official_state_dict(load_local_checkpoint(src, 'cpu'), src)
    depth, keypoints = detect_model(state, src)
    config = config or default_config(depth, keypoints, src)
    reference = reference_estimator(config).state_dict()
    converted, dropped = convert_state_dict(
        state, reference, source=src, target=f'the model of {config}')
    checkpoint = dict(
        state_dict=converted,
        meta=dict(
            converted_from=osp.basename(src),
            converter='elhrnet_mm.convert.ditehrnet_official',
            source_model=f'official Dite-HRNet-{depth} (MMPose 0.x TopDown)',
            config=osp.basename(config),
            dropped=dropped))
    partial = dst + PARTIAL_SUFFIX
    try:
        torch.save(checkpoint, partial)
        publish(partial, dst)
    finally:
        if osp.exists(partial):
            os.remove(partial)
    return dict(
        depth=depth,
        keypoints=keypoints,
        config=config,
        tensors=len(converted),
        dropped=dropped)
