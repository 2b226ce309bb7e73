"""A DSC whose splits are Enhanced ConvBNs, as one set of operators over all
splits, for graph runtimes.

EDite-HRNet's Dynamic Split Convolution (Li et al., "Dite-HRNet", IJCAI
2022, Eq. 3-4) with Enhanced ConvBN layers (Rui et al., "EDite-HRNet", IEEE
Access, Sec. III-D, Fig. 4) runs, for each of its G channel splits, a
GhostNetV2 module with DFC attention (Tang et al., NeurIPS 2022, Eq. 6-9):

    Ghost_i = [P_i; D_i(P_i)],  P_i = S W_i * x_i + b_i  (2-to-1 primary)
    O_i = Ghost_i * up(scale_i sigmoid(A_i(pool(x_i)))) + shift_i

and then concatenates and channel-shuffles the G outputs: output channel
``j G + i`` is channel j of ``O_i``. Every operator of a split is
per-channel except the primary's group sum, so the G splits run as one:

* one depthwise conv over the whole input with each split's kernels
  zero-padded to the largest size (a k x k kernel with padding k // 2 is
  the K x K kernel with a zero border and padding K // 2),
* one 1x1 conv with 0/1 weights that sums each group's two outputs and
  writes the sums straight into the shuffled order (its rows are free to
  permute), so the cheap depthwise conv (kernels permuted alike) and one
  concatenation give the shuffled Ghost features without a shuffle of the
  full map,
* one DFC chain over the whole pooled input (padded kernels again), whose
  gate, at a quarter of the map's size, is channel-shuffled instead.

A DSC of G splits goes from ``10 G + 3`` operators (split, G Ghost modules
of ten, concat, shuffle) to 12; exact (the padded taps and the 0 weights of
the sum add zeros; only the order of float sums changes). EDite-HRNet-S's
16 DSCs with G = 2 and 4: OpenVINO node time 2.05 -> 1.23 ms, the whole
network 27.0 -> 25.9 ms in OpenVINO and 43.3 -> 39.5 ms in ONNX Runtime
(one process, docs/speed.md).
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...models.blocks.dynamic_split_conv import DynamicSplitConv
from ...models.blocks.folded_ghost_module_v2 import FoldedGhostModuleV2


def folded_ghost(layer: nn.Module) -> Optional[FoldedGhostModuleV2]:
    """The :class:`FoldedGhostModuleV2` a DSC layer consists of (the layer
    itself, or a fused Enhanced ConvBN: a Sequential holding only it), else
    None."""
    if isinstance(layer, nn.Sequential) and len(layer) == 1:
        layer = layer[0]
    return layer if type(layer) is FoldedGhostModuleV2 else None


def _primary_conv(ghost: nn.Module) -> Optional[nn.Module]:
    """The primary conv's depthwise-and-sum form (``weight`` (C_in, 1, k,
    k), ``bias``, ``groups``): a ``GroupedConvAsDepthwise`` or a graph
    rewrite wrapping one (``.depthwise``), else None."""
    if len(ghost.primary) != 1:  # a norm or activation after the conv
        return None
    conv = ghost.primary[0]
    conv = getattr(conv, 'depthwise', conv)
    weight = getattr(conv, 'weight', None)
    if (weight is None or not hasattr(conv, 'groups')
            or getattr(conv, 'bias', None) is None or weight.dim() != 4
            or weight.shape[1] != 1):
        return None
    return conv


def _plain_depthwise(module: nn.Module) -> Optional[nn.Conv2d]:
    """The depthwise conv of a fused ConvModule without activation (its
    norm folded), stride 1, 'same' zero padding and a bias, else None."""
    conv = getattr(module, 'conv', None)
    norm = getattr(module, 'norm', None)
    if (type(conv) is not nn.Conv2d
            or getattr(module, 'with_activation', False)
            or getattr(module, 'with_explicit_padding', False)
            or not (norm is None or isinstance(norm, nn.Identity))
            or conv.bias is None or conv.groups != conv.in_channels
            or conv.out_channels != conv.in_channels or conv.stride != (1, 1)
            or conv.dilation != (1, 1) or conv.padding_mode != 'zeros'
            or conv.padding != tuple(k // 2 for k in conv.kernel_size)
            or any(k % 2 == 0 for k in conv.kernel_size)):
        return None
    return conv


def _centered(kernel: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """(C, 1, kh, kw) kernel zero-padded to (C, 1, *size), centred."""
    dh, dw = size[0] - kernel.shape[2], size[1] - kernel.shape[3]
    return F.pad(kernel, (dw // 2, dw // 2, dh // 2, dh // 2))


def _stacked(kernels: List[torch.Tensor]) -> torch.Tensor:
    """The splits' (c, 1, k_i, k_i) kernels, padded to the largest, stacked
    along the channels."""
    size = (max(k.shape[2] for k in kernels), max(k.shape[3] for k in kernels))
    return torch.cat([_centered(k, size) for k in kernels])


class MergedGhostSplitConv(nn.Module):
    """:class:`DynamicSplitConv` with G > 1 splits of Enhanced ConvBN
    (:class:`FoldedGhostModuleV2`: 2-to-1 primary conv, ratio 2, DFC
    attention, stride 1) whose exported graph runs all splits at once (see
    the module docstring); in eager PyTorch the wrapped module runs
    unchanged.

    Args:
        dsc (DynamicSplitConv): the fused DSC to wrap
            (:meth:`applies_to`).

    Shapes:
        input (N, C, H, W), H and W even -> output (N, C, H, W).
    """

    def __init__(self, dsc: DynamicSplitConv):
        super().__init__()
        if not isinstance(dsc, DynamicSplitConv):
            raise TypeError('MergedGhostSplitConv wraps a DynamicSplitConv, '
                            f'got {type(dsc).__name__}')
        if not self.applies_to(dsc):
            raise ValueError(
                'MergedGhostSplitConv needs a DSC of G > 1 equal splits, '
                'each a folded GhostModuleV2 with a 2-to-1 primary conv, '
                'ratio 2, DFC attention and stride 1')
        self.dsc = dsc
        self.groups = groups = dsc.num_groups
        ghosts = [folded_ghost(conv) for conv in dsc.convs]
        split = dsc.splits[0]
        half = split // 2
        primaries = [_primary_conv(g.ghost) for g in ghosts]
        self.register_buffer('primary_weight',
                             _stacked([p.weight.detach() for p in primaries]))
        # row j G + i of the sum: channels i c + 2 j, i c + 2 j + 1 of the
        # depthwise output (group j of split i): the shuffled order
        group_sum = torch.zeros(groups * half, groups * split, 1, 1)
        rows = torch.arange(half) * groups
        for i in range(groups):
            for t in range(2):
                group_sum[rows + i, i * split + 2 * torch.arange(half) + t] = 1
        self.register_buffer('group_sum', group_sum.to(self.primary_weight))
        shuffled = torch.arange(groups * half).view(groups, half).t()
        shuffled = shuffled.flatten()  # new channel j G + i <- i half + j

        def cat(tensors: List[torch.Tensor]) -> torch.Tensor:
            return torch.cat([t.detach() for t in tensors])

        self.register_buffer('primary_bias',
                             cat([p.bias for p in primaries])[shuffled])
        cheap = [_plain_depthwise(g.ghost.cheap) for g in ghosts]
        self.register_buffer('cheap_weight',
                             cat([c.weight for c in cheap])[shuffled])
        self.register_buffer('cheap_bias',
                             cat([c.bias for c in cheap])[shuffled])
        self.cheap_padding = cheap[0].padding
        dfc = [[_plain_depthwise(m) for m in g.ghost.dfc] for g in ghosts]
        self.register_buffer('dfc0_weight',
                             _stacked([d[0].weight.detach() for d in dfc]))
        self.dfc0_padding = tuple(k // 2 for k in self.dfc0_weight.shape[2:])
        for s in (1, 2):
            self.register_buffer(f'dfc{s}_weight',
                                 cat([d[s].weight for d in dfc]))
        for s in (0, 1, 2):
            self.register_buffer(f'dfc{s}_bias', cat([d[s].bias for d in dfc]))
        self.dfc_paddings = (dfc[0][1].padding, dfc[0][2].padding)
        self.register_buffer(
            'gate_scale', cat([g.out_affine.scale.flatten() for g in ghosts]))
        # the output's channel j G + i is channel j of split i
        out_order = torch.arange(groups * split).view(groups, split).t()
        self.register_buffer(
            'out_shift',
            cat([g.out_affine.shift.flatten()
                 for g in ghosts])[out_order.flatten()].view(1, -1, 1, 1))

    @staticmethod
    def applies_to(dsc: DynamicSplitConv) -> bool:
        """G > 1 equal splits, each a :class:`FoldedGhostModuleV2` with a
        2-to-1 depthwise-and-sum primary conv with 'same' padding, ratio 2,
        plain depthwise cheap and DFC convs of one shape per position
        (the DFC's first conv may differ, as the primary), stride 1."""
        if dsc.num_groups < 2 or len(set(dsc.splits)) != 1:
            return False
        split = dsc.splits[0]
        ghosts = [folded_ghost(conv) for conv in dsc.convs]
        if any(g is None or g.ghost.dfc is None or len(g.ghost.dfc) != 3
               for g in ghosts):
            return False
        shapes = set()
        for g in ghosts:
            primary = _primary_conv(g.ghost)
            cheap = _plain_depthwise(g.ghost.cheap)
            dfc = [_plain_depthwise(m) for m in g.ghost.dfc]
            if primary is None or cheap is None or None in dfc:
                return False
            k = primary.weight.shape[2:]
            if (g.ghost.out_channels != split or primary.groups * 2 != split
                    or primary.weight.shape[0] != split
                    or cheap.in_channels != split // 2
                    or tuple(primary.stride) != (1, 1)
                    or tuple(primary.dilation) != (1, 1)
                    or tuple(primary.padding) != tuple(s // 2 for s in k)
                    or any(s % 2 == 0
                           for s in k) or dfc[0].in_channels != split):
                return False
            shapes.add(
                (cheap.kernel_size, dfc[1].kernel_size, dfc[2].kernel_size))
        return len(shapes) == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing():
            return self.dsc(x)
        channels, half = self.primary_weight.shape[0], self.group_sum.shape[0]
        kh, kw = self.primary_weight.shape[2:]
        primary = F.conv2d(
            F.conv2d(x, self.primary_weight, None, 1, (kh // 2, kw // 2), 1,
                     channels), self.group_sum, self.primary_bias)
        ghost = torch.cat([
            primary,
            F.conv2d(primary, self.cheap_weight, self.cheap_bias, 1,
                     self.cheap_padding, 1, half)
        ], 1)
        pooled = F.avg_pool2d(x, kernel_size=2, stride=2)
        gate = F.conv2d(pooled, self.dfc0_weight, self.dfc0_bias, 1,
                        self.dfc0_padding, 1, channels)
        for s, padding in zip((1, 2), self.dfc_paddings):
            gate = F.conv2d(gate, getattr(self, f'dfc{s}_weight'),
                            getattr(self, f'dfc{s}_bias'), 1, padding, 1,
                            channels)
        gate = torch.sigmoid(gate) * self.gate_scale.view(1, -1, 1, 1)
        # the gate into the output's order: a channel shuffle (G groups)
        n, _, h, w = gate.shape
        gate = gate.view(n, self.groups, channels // self.groups,
                         h * w).transpose(1, 2).reshape(n, channels, h, w)
        gate = F.interpolate(gate,
                             size=(int(ghost.shape[2]), int(ghost.shape[3])),
                             mode='nearest')
        return torch.addcmul(self.out_shift, ghost, gate)
