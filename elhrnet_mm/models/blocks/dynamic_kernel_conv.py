"""Dynamic Kernel Aggregation (DKA): a convolution whose kernel is a
per-sample, attention-weighted sum of K kernels.

Li et al., "Dite-HRNet: Dynamic Lightweight High-Resolution Network for Human
Pose Estimation", IJCAI 2022, Sec. 3.2 ("Dynamic Kernel Aggregation"), after
CondConv / Dynamic Convolution: ``W(x) = sum_k a_k(x) W_k`` with
``a(x) = sigmoid(FC(ReLU(BN(FC(GAP(x))))))``, ``y = W(x) * x``.
"""
import copy
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmpose.registry import MODELS

from ..utils.bn_folding import fold_bn_into
from .folded_kernel_aggregation import FoldedKernelAggregation

_IntPair = Union[int, Tuple[int, int]]


def _pair(value: _IntPair) -> Tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


class KernelAggregation(nn.Module):
    """The convolution of DKA: mixes K kernels with given weights, convolves.

    For a batch of N samples with weights ``a`` of shape (N, K) it builds the
    N kernels ``W_n = sum_k a[n, k] W_k`` (one matrix product) and runs them
    as ONE grouped convolution: the batch is folded into the channels
    (1, N*C_in, H, W) and the groups become ``N * groups``, so sample n only
    meets its own kernel. A leaf module that the FLOP counters
    (:mod:`elhrnet_mm.analysis.counters`) count as a ``Conv2d`` of one
    kernel (the official ``KernelAggregation`` is counted that way; the
    kernel mixing itself is not counted).

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        kernel_size (int | tuple[int, int]): k.
        num_kernels (int): K, kernels in the bank.
        stride, padding, dilation, groups: as ``nn.Conv2d``.
        bias (bool): a bias bank (K, C_out) mixed like the kernels.
            Default: False (Dite-HRNet uses none).

    Shapes:
        input (N, C_in, H, W) and attention (N, K) ->
        output (N, C_out, H_out, W_out), H_out/W_out as ``nn.Conv2d``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: _IntPair,
                 num_kernels: int,
                 stride: _IntPair = 1,
                 padding: _IntPair = 0,
                 dilation: _IntPair = 1,
                 groups: int = 1,
                 bias: bool = False):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.num_kernels = num_kernels
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.groups = groups
        self.weight = nn.Parameter(
            torch.empty(num_kernels, out_channels, in_channels // groups,
                        *self.kernel_size))
        self.bias = (
            nn.Parameter(torch.empty(num_kernels, out_channels))
            if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform per kernel (as the official bank), bias 0."""
        for kernel in self.weight:
            nn.init.kaiming_uniform_(kernel)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    @torch.no_grad()
    def scale_bank(self, scale: torch.Tensor) -> None:
        """Multiply output channel c of every kernel (and bias) of the bank
        by ``scale[c]``, in place: ``scale * sum_k a_k W_k = sum_k a_k
        (scale W_k)`` for any attention."""
        self.weight.mul_(scale.view(1, -1, *([1] * (self.weight.dim() - 2))))
        if self.bias is not None:
            self.bias.mul_(scale)

    def fold_affine(self, scale: torch.Tensor,
                    shift: torch.Tensor) -> FoldedKernelAggregation:
        """The module computing ``scale * y + shift`` per output channel
        (e.g. a following eval-mode BN): a :class:`~.FoldedKernelAggregation`
        wrapping this module, whose bank absorbs the scale; the shift does
        not depend on the attention and is added after the mixing."""
        return FoldedKernelAggregation(self).fold_affine(scale, shift)

    def mixed_bias(self, attention: torch.Tensor) -> Optional[torch.Tensor]:
        """``sum_k a[n, k] b_k`` of every sample, flattened to
        (N * C_out, ); None without a bias bank."""
        return (None if self.bias is None else torch.mm(
            attention, self.bias).flatten())

    def convolve(self, x: torch.Tensor, attention: torch.Tensor,
                 bias: Optional[torch.Tensor]) -> torch.Tensor:
        """``x`` convolved with its sample's mixed kernel, plus ``bias``
        (N * C_out, ) or None, as one grouped convolution.

        Shapes:
            x (N, C_in, H, W), attention (N, K) ->
            (N, C_out, H_out, W_out).
        """
        n, _, h, w = x.shape
        weight = torch.mm(attention, self.weight.flatten(1)).view(
            n * self.out_channels, *self.weight.shape[2:])
        # one sample is its own folded batch (no reshapes in the graph)
        out = F.conv2d(
            x if n == 1 else x.reshape(1, -1, h, w),
            weight,
            bias,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups * n)
        return out if n == 1 else out.view(n, self.out_channels,
                                           *out.shape[2:])

    def forward(self, x: torch.Tensor,
                attention: torch.Tensor) -> torch.Tensor:
        return self.convolve(x, attention, self.mixed_bias(attention))


@MODELS.register_module()
class DynamicKernelConv(BaseModule):
    """Dynamic Kernel Aggregation (DKA) of Dite-HRNet.

    ``y = (sum_k a_k(x) W_k) * x``. The kernel attention ``a(x)`` (one
    weight per kernel and sample) is
    ``sigmoid(fc(act(norm(reduce(pool(x))))))``: global average pooling,
    1x1 conv ``C_in -> hidden`` without bias, ``norm_cfg``, ``act_cfg``, 1x1
    conv ``hidden -> K`` with bias, sigmoid (not softmax, as the official
    code; the weights are not normalised). The convolution is
    :class:`KernelAggregation` (all samples in one grouped convolution, no
    loop over the batch). Parameters:
    ``K * C_out * C_in / groups * k_h * k_w`` (the bank) plus the attention
    MLP ``C_in * hidden + 2 * hidden + hidden * K + K`` (BN counted).

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        kernel_size (int | tuple[int, int]): k.
        stride (int | tuple[int, int]): Default: 1.
        padding (int | tuple[int, int], optional): None means
            ``(k - 1) // 2 * dilation`` ('same' for odd k at stride 1).
            Default: None.
        dilation (int | tuple[int, int]): Default: 1.
        groups (int): Default: 1.
        bias (bool): bias bank. Default: False.
        num_kernels (int): K >= 2. Default: 4 (Dite-HRNet).
        reduction (int): the attention's hidden width is
            ``C_in // reduction``. Default: 4 (Dite-HRNet).
        hidden_channels (int, optional): set the hidden width directly.
            Default: None.
        conv_cfg (dict, optional): conv layer config of the attention.
        norm_cfg (dict, optional): norm of the attention. Default: BN.
        act_cfg (dict): activation of the attention. Default: ReLU.
        init_cfg (dict, optional): initialisation config. Default: None.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, H_out, W_out), as
        ``nn.Conv2d`` with the same arguments.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: _IntPair,
                 stride: _IntPair = 1,
                 padding: Optional[_IntPair] = None,
                 dilation: _IntPair = 1,
                 groups: int = 1,
                 bias: bool = False,
                 num_kernels: int = 4,
                 reduction: int = 4,
                 hidden_channels: Optional[int] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(num_kernels, int) or num_kernels < 2:
            raise ValueError('DynamicKernelConv num_kernels must be an int '
                             f'>= 2, got {num_kernels!r}; use a plain conv '
                             'for one kernel')
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f'DynamicKernelConv groups={groups} must divide in_channels '
                f'({in_channels}) and out_channels ({out_channels})')
        if hidden_channels is None:
            if not isinstance(reduction, int) or reduction < 1:
                raise ValueError('DynamicKernelConv reduction must be a '
                                 f'positive int, got {reduction!r}')
            hidden_channels = in_channels // reduction
        if hidden_channels < 1:
            raise ValueError(
                f'DynamicKernelConv attention width is {hidden_channels} '
                f'(in_channels {in_channels} // reduction {reduction}); '
                'allowed: reduction <= in_channels, or set hidden_channels')
        if padding is None:
            kh, kw = _pair(kernel_size)
            dh, dw = _pair(dilation)
            padding = ((kh - 1) // 2 * dh, (kw - 1) // 2 * dw)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = build_conv_layer(
            conv_cfg, in_channels, hidden_channels, 1, bias=False)
        self.norm = build_norm_layer(
            copy.deepcopy(norm_cfg), hidden_channels)[1]
        self.act = build_activation_layer(copy.deepcopy(act_cfg))
        self.fc = build_conv_layer(
            conv_cfg, hidden_channels, num_kernels, 1, bias=True)
        self.aggregation = KernelAggregation(
            in_channels,
            out_channels,
            kernel_size,
            num_kernels,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The kernel weights, shape (N, K)."""
        a = self.fc(self.act(self.norm(self.reduce(self.pool(x)))))
        return torch.sigmoid(a).flatten(1)

    def fold_affine(self, scale: torch.Tensor,
                    shift: torch.Tensor) -> 'DynamicKernelConv':
        """Fold a per-channel ``scale * y + shift`` after this conv into
        its kernel bank (:meth:`KernelAggregation.fold_affine`); returns
        ``self``."""
        self.aggregation = self.aggregation.fold_affine(scale, shift)
        return self

    def switch_to_deploy(self) -> None:
        """Fold the attention's eval-mode BN into its ``reduce`` conv (the
        BN becomes an ``nn.Identity``; no replacement of ``self``)."""
        reduce = fold_bn_into(self.reduce, self.norm)
        if reduce is not None:
            self.reduce, self.norm = reduce, nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.aggregation(x, self.attention(x))


def norm_act(channels: int, norm_cfg: Optional[dict],
             act_cfg: Optional[dict]) -> List[nn.Module]:
    """The norm layer and, unless ``act_cfg`` is None, the activation that
    follow a conv of ``channels`` outputs in a "ConvBN(ReLU)"."""
    layers = [build_norm_layer(copy.deepcopy(norm_cfg), channels)[1]]
    if act_cfg is not None:
        layers.append(build_activation_layer(copy.deepcopy(act_cfg)))
    return layers


@MODELS.register_module(name='ConvBN')
class DynamicConvModule(nn.Sequential):
    """Conv + norm + activation where the conv is DKA when ``num_kernels > 1``.

    The "ConvBN / ConvBNReLU / Conv1x1BN(ReLU)" layers of Dite-HRNet: a
    :class:`DynamicKernelConv` with K kernels (or, for ``num_kernels=1``, a
    static ``conv_cfg`` conv, bias-free), then ``norm_cfg`` and
    ``act_cfg`` (None: no activation). Padding keeps 'same' size at stride 1.
    Registered as ``'ConvBN'``, the default ``conv_bn_cfg`` of Dite-HRNet's
    blocks; :class:`~.EnhancedConvBN` takes the same arguments.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, H / stride, W / stride).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int = 1,
                 groups: int = 1,
                 num_kernels: int = 1,
                 reduction: int = 4,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = None):
        padding = kernel_size // 2
        if num_kernels > 1:
            conv = DynamicKernelConv(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                groups=groups,
                num_kernels=num_kernels,
                reduction=reduction,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg)
        else:
            conv = build_conv_layer(
                conv_cfg,
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                groups=groups,
                bias=False)
        super().__init__(conv, *norm_act(out_channels, norm_cfg, act_cfg))

