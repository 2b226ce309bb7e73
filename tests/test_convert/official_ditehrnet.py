"""Names and shapes of an official Dite-HRNet checkpoint, written out from
the module structure of the official code (ZiyiZhang27/Dite-HRNet,
``models/backbones/ditehrnet.py``: ``ConvBN``, ``KernelAttention``,
``KernelAggregation``, ``GlobalContextModeling``, ``DenseContextModeling``,
``DynamicSplitConvolution``, ``Stem``, ``DiteHRModule``, ``IterativeHead``)
and MMPose 0.x's ``TopdownHeatmapSimpleHead`` with ``num_deconv_layers=0``.

Independent of our model and of the converter's rules: nothing here is
derived from either.
"""
from collections import OrderedDict
from typing import Dict, Sequence, Tuple

import torch

Shapes = Dict[str, Tuple[int, ...]]

#: ``extra`` of the official configs (ditehrnet_{18,30}_coco_256x192.py).
STEM_CHANNELS = 32
NUM_CHANNELS = ((40, 80), (40, 80, 160), (40, 80, 160, 320))
NUM_MODULES = {18: (2, 4, 2), 30: (3, 8, 3)}
NUM_BLOCKS = 2


def _bn(prefix: str, c: int) -> Shapes:
    return {
        f'{prefix}.weight': (c, ),
        f'{prefix}.bias': (c, ),
        f'{prefix}.running_mean': (c, ),
        f'{prefix}.running_var': (c, ),
        f'{prefix}.num_batches_tracked': (),
    }


def _conv_bn(prefix: str, cin: int, cout: int, k: int, groups: int,
             kernels: int) -> Shapes:
    """ConvBN / ConvBNReLU / Conv1x1BN(ReLU): ``conv`` (DynamicKernel-
    Aggregation when kernels > 1, else nn.Conv2d without bias) + ``bn``."""
    out = {}
    if kernels > 1:
        # KernelAttention(in_channels, reduction=4, num_kernels)
        mid = cin // 4 if cin != 3 else kernels
        out[f'{prefix}.conv.attention.conv1.weight'] = (mid, cin, 1, 1)
        out.update(_bn(f'{prefix}.conv.attention.bn', mid))
        out[f'{prefix}.conv.attention.conv2.weight'] = (kernels, mid, 1, 1)
        out[f'{prefix}.conv.attention.conv2.bias'] = (kernels, )
        # KernelAggregation(bias=False): one weight bank, no bias
        out[f'{prefix}.conv.aggregation.weight'] = (kernels, cout,
                                                    cin // groups, k, k)
    else:
        out[f'{prefix}.conv.weight'] = (cout, cin // groups, k, k)
    out.update(_bn(f'{prefix}.bn', cout))
    return out


def _attention(prefix: str, c: int, mid: int) -> Shapes:
    """``channel_attention``: Conv2d(no bias), BN, ReLU, Conv2d, Sigmoid."""
    out = {f'{prefix}.channel_attention.0.weight': (mid, c, 1, 1)}
    out.update(_bn(f'{prefix}.channel_attention.1', mid))
    out[f'{prefix}.channel_attention.3.weight'] = (c, mid, 1, 1)
    out[f'{prefix}.channel_attention.3.bias'] = (c, )
    return out


def _gcm(prefix: str, c: int, reduction: int) -> Shapes:
    out = {f'{prefix}.conv_mask.weight': (1, c, 1, 1),
           f'{prefix}.conv_mask.bias': (1, )}
    out.update(_attention(prefix, c, c // reduction))
    out.update(_bn(f'{prefix}.bn', c))
    return out


def _dcm(prefix: str, channels: Sequence[int]) -> Shapes:
    """DenseContextModeling(reduction=[8, 8, 8]): a conv_mask per branch,
    the last one included."""
    out = {}
    for i, c in enumerate(channels):
        out[f'{prefix}.conv_mask.{i}.weight'] = (1, c, 1, 1)
        out[f'{prefix}.conv_mask.{i}.bias'] = (1, )
    total = sum(channels)
    out.update(_attention(prefix, total, total // 8))
    return out


def _split(channels: int, groups: int):
    split = [channels // groups] * groups
    split[0] += channels - sum(split)
    return split


def _dmc(prefix: str, in_channels: Sequence[int]) -> Shapes:
    """DynamicMultiScaleContextBlock: dcm, conv (DSC per branch), gcm."""
    half = [c // 2 for c in in_channels]
    out = _dcm(f'{prefix}.dcm', half)
    for b, c in enumerate(half):
        groups, kernels = (1, 1, 2, 4)[b], (4, 4, 2, 1)[b]
        for i, s in enumerate(_split(c, groups)):
            out.update(
                _conv_bn(f'{prefix}.conv.{b}.conv.{i}', s, s, 2 * i + 3, s,
                         kernels))
        out.update(_gcm(f'{prefix}.gcm.{b}', c, (4, 4, 8, 8)[b]))
    return out


def _stem(prefix: str) -> Shapes:
    c, half = STEM_CHANNELS, STEM_CHANNELS // 2
    mid = half // 4
    out = {f'{prefix}.conv1.conv.weight': (c, 3, 3, 3)}
    out.update(_bn(f'{prefix}.conv1.bn', c))
    out.update(_conv_bn(f'{prefix}.branch1.0', half, half, 3, half, 4))
    out.update(_gcm(f'{prefix}.branch1.1', half, 4))
    out.update(_conv_bn(f'{prefix}.branch1.2', half, half, 1, 1, 4))
    out.update(_conv_bn(f'{prefix}.branch2.0', half, half, 3, half, 4))
    out.update(_gcm(f'{prefix}.branch2.1', half, 4))
    out.update(_conv_bn(f'{prefix}.branch2.2', half, mid, 1, 1, 4))
    out.update(_conv_bn(f'{prefix}.branch2.3', mid, half, 1, 1, 4))
    out.update(_conv_bn(f'{prefix}.branch2.4', half, half, 3, half, 4))
    return out


def _dw_pw(prefix: str, cin: int, cout: int) -> Shapes:
    """dw 3x3 conv, BN, 1x1 conv, BN (indices 0-3; a ReLU may follow)."""
    out = {f'{prefix}.0.weight': (cin, 1, 3, 3)}
    out.update(_bn(f'{prefix}.1', cin))
    out[f'{prefix}.2.weight'] = (cout, cin, 1, 1)
    out.update(_bn(f'{prefix}.3', cout))
    return out


def _transition(prefix: str, previous: Sequence[int],
                current: Sequence[int]) -> Shapes:
    out = {}
    for i, c in enumerate(current):
        if i < len(previous):
            if c != previous[i]:
                out.update(_dw_pw(f'{prefix}.{i}', previous[i], c))
        else:
            for j in range(i + 1 - len(previous)):
                cin = previous[-1]
                cout = c if j == i - len(previous) else cin
                out.update(_dw_pw(f'{prefix}.{i}.{j}', cin, cout))
    return out


def _fuse(prefix: str, channels: Sequence[int]) -> Shapes:
    out = {}
    for i, ci in enumerate(channels):  # multiscale_output=True
        for j, cj in enumerate(channels):
            if j > i:
                out[f'{prefix}.{i}.{j}.0.weight'] = (ci, cj, 1, 1)
                out.update(_bn(f'{prefix}.{i}.{j}.1', ci))
            elif j < i:
                for k in range(i - j):
                    cout = ci if k == i - j - 1 else cj
                    out.update(_dw_pw(f'{prefix}.{i}.{j}.{k}', cj, cout))
    return out


def _iterative_head(prefix: str, channels: Sequence[int]) -> Shapes:
    out = {}
    rev = list(channels)[::-1]
    for i, cin in enumerate(rev):
        cout = rev[i + 1] if i < len(rev) - 1 else cin
        p = f'{prefix}.projects.{i}'
        out[f'{p}.depthwise_conv.conv.weight'] = (cin, 1, 3, 3)
        out.update(_bn(f'{p}.depthwise_conv.bn', cin))
        out[f'{p}.pointwise_conv.conv.weight'] = (cout, cin, 1, 1)
        out.update(_bn(f'{p}.pointwise_conv.bn', cout))
    return out


def official_shapes(depth: int, keypoints: int = 17) -> Shapes:
    """Every tensor of an official Dite-HRNet-``depth`` TopDown checkpoint."""
    out = _stem('backbone.stem')
    previous = [STEM_CHANNELS]
    for s, channels in enumerate(NUM_CHANNELS):
        out.update(_transition(f'backbone.transition{s}', previous,
                               channels))
        for m in range(NUM_MODULES[depth][s]):
            for k in range(NUM_BLOCKS):
                out.update(
                    _dmc(f'backbone.stage{s}.{m}.layers.{k}', channels))
            out.update(_fuse(f'backbone.stage{s}.{m}.fuse_layers', channels))
        previous = channels
    out.update(_iterative_head('backbone.head_layer', NUM_CHANNELS[-1]))
    out['keypoint_head.final_layer.weight'] = (keypoints, NUM_CHANNELS[0][0],
                                               1, 1)
    out['keypoint_head.final_layer.bias'] = (keypoints, )
    return out


def official_state_dict(depth: int,
                        keypoints: int = 17,
                        seed: int = 0) -> 'OrderedDict[str, torch.Tensor]':
    """Random tensors of :func:`official_shapes` (running_var positive,
    counters integer), as an official checkpoint would hold them."""
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in official_shapes(depth, keypoints).items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(1000)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.1
    return state
