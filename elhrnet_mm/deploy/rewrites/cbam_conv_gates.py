"""CBAM's two gates as convolutions OpenVINO runs well, for graph runtimes.

CBAM (Woo et al., ECCV 2018, Eq. 1-2; EL-HRNet, Sensors 2024, 24, 396,
Eq. 5-7) computes

    F_c = sigmoid(MLP(avg(F)) + MLP(max(F))),  F' = F_c * F,
    F_s = sigmoid(conv_kxk([max_c(F'); mean_c(F')]) + b),  out = F_s * F'

with ``MLP(d) = W2 act(W1 d + b1) + b2``. In the exported graph of
:class:`~elhrnet_mm.models.blocks.CBAM` (the MLP run once on the two
descriptors stacked along the batch, then split and summed), OpenVINO fuses
``sigmoid(both[:n] + both[n:])`` into the broadcast multiply with ``F`` and
so evaluates the sigmoid once per element of the map; it copies the channel
concatenation of the one-channel max/mean maps with a slow reference kernel;
and it runs the 2-to-1 ``k x k`` conv at a few GMAC/s (one output channel).
The same function in other operators (docs/speed.md, "where the time
goes"):

* channel gate: ``[avg; max]`` concatenated along the channels (N, 2C, 1, 1),
  a 2-group 1x1 conv with ``W1`` in both groups, ``act``, and a 1x1 conv
  with ``[W2, W2]`` and bias ``2 b2`` (the sum of the two MLP outputs),
  sigmoid: a (N, C, 1, 1) gate before the multiply;
* spatial gate: the max/mean maps put side by side by broadcasting,
  ``max_c * [1, 0] + mean_c * [0, 1]`` (N, 2, H, W), the ``k x k`` conv as
  a depthwise conv of the two maps and a 1x1 conv with weights 1 (their
  sum) and bias ``b``.

:class:`ConvGateStackedCBAM` (CBAM-LiteHRNet's B CBAMs stacked) takes the
channel gate of this form and spreads its B spatial gates to their
branches' channels with a 1x1 conv of 0/1 weights.

All only reorder the sums of the original (``v * 1 + w * 0 = v`` for
finite ``w``).
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...models.blocks.cbam import CBAM, StackedCBAM


def register_summed_mlp(module: nn.Module, first: nn.Conv2d,
                        second: nn.Conv2d) -> None:
    """Register on ``module`` the buffers of the conv form of the channel
    gate whose MLP is ``first`` (C -> h, bias), ``module.act``, ``second``
    (h -> C, bias): ``mlp_in_weight`` (2h, C, 1, 1) = ``[W1; W1]`` (one
    group per descriptor), ``mlp_in_bias`` ``[b1; b1]``, ``mlp_out_weight``
    (C, 2h, 1, 1) = ``[W2, W2]`` (sums the two outputs), ``mlp_out_bias``
    ``2 b2``."""
    with torch.no_grad():
        module.register_buffer('mlp_in_weight',
                               torch.cat([first.weight, first.weight]))
        module.register_buffer('mlp_in_bias',
                               torch.cat([first.bias, first.bias]))
        module.register_buffer(
            'mlp_out_weight', torch.cat([second.weight, second.weight],
                                        dim=1))
        module.register_buffer('mlp_out_bias', 2 * second.bias)


def summed_mlp_gate(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``F_c = sigmoid(MLP(avg(x)) + MLP(max(x)))`` (N, C, 1, 1) of ``x``
    (N, C, H, W), in the conv form whose buffers
    :func:`register_summed_mlp` put on ``module``."""
    descriptors = torch.cat([
        x.mean(dim=(2, 3), keepdim=True),
        x.amax(dim=(2, 3), keepdim=True)
    ], dim=1)
    hidden = module.act(
        F.conv2d(descriptors, module.mlp_in_weight, module.mlp_in_bias,
                 groups=2))
    return torch.sigmoid(
        F.conv2d(hidden, module.mlp_out_weight, module.mlp_out_bias))


class ConvGateCBAM(nn.Module):
    """:class:`~elhrnet_mm.models.blocks.CBAM` (eval mode, spatial norm
    folded) whose exported graph computes the gates in the form of the
    module docstring. In eager PyTorch it runs the wrapped CBAM unchanged;
    under tracing (ONNX export) the conv forms.

    Args:
        cbam (CBAM): the module to wrap; its spatial ``ConvModule`` must have
            no norm or activation left (``fuse_for_inference`` folds the BN).

    Shapes:
        input (N, C, H, W) -> output (N, C, H, W); the gates (N, C, 1, 1)
        and (N, 1, H, W).
    """

    def __init__(self, cbam: CBAM):
        super().__init__()
        if not isinstance(cbam, CBAM):
            raise TypeError(
                f'ConvGateCBAM wraps a CBAM, got {type(cbam).__name__}')
        if not self.applies_to(cbam):
            raise ValueError('ConvGateCBAM needs a CBAM whose spatial conv '
                             'has no norm or activation left (fold the BN '
                             'first: fuse_for_inference)')
        self.cbam = cbam
        first = cbam.channel_mlp[0].conv
        second = cbam.channel_mlp[1].conv
        conv = cbam.spatial_conv.conv
        self.padding = conv.padding
        self.act = copy.deepcopy(cbam.channel_mlp[0].activate)
        register_summed_mlp(self, first, second)
        with torch.no_grad():
            # (1, 2, 1, 1) each: max_c to map 0, mean_c to map 1
            self.register_buffer(
                'max_map',
                conv.weight.new_tensor([1., 0.]).view(1, 2, 1, 1))
            self.register_buffer('mean_map', 1 - self.max_map)
            # (2, 1, k, k): the kernel of each map; (1, 2, 1, 1): their sum
            self.register_buffer(
                'map_weight',
                conv.weight.reshape(2, 1, *conv.kernel_size).clone())
            self.register_buffer('sum_weight',
                                 conv.weight.new_ones(1, 2, 1, 1))
            self.register_buffer(
                'spatial_bias',
                conv.bias.clone()
                if conv.bias is not None else conv.weight.new_zeros(1))

    @staticmethod
    def applies_to(cbam: CBAM) -> bool:
        """Whether the CBAM's spatial conv has no norm or activation left."""
        spatial = cbam.spatial_conv
        return not (spatial.with_norm or spatial.with_activation)

    @property
    def channels(self) -> int:
        """C, the channels the wrapped CBAM attends."""
        return self.cbam.channels

    def pooled_maps(self, x: torch.Tensor) -> torch.Tensor:
        """``[max_c(x); mean_c(x)]`` (N, 2, H, W) of ``x`` (N, C, H, W), put
        side by side by broadcasting (module docstring)."""
        return (x.amax(dim=1, keepdim=True) * self.max_map +
                x.mean(dim=1, keepdim=True) * self.mean_map)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing():
            return self.cbam(x)
        x = x * summed_mlp_gate(self, x)
        pooled = self.pooled_maps(x)
        per_map = F.conv2d(
            pooled, self.map_weight, padding=self.padding, groups=2)
        return x * torch.sigmoid(
            F.conv2d(per_map, self.sum_weight, self.spatial_bias))


class ConvGateStackedCBAM(nn.Module):
    """:class:`~elhrnet_mm.models.blocks.cbam.StackedCBAM` (CBAM-LiteHRNet's
    B per-branch CBAMs on the concatenated pooled maps, Sec. III-B/C of the
    paper; CBAM Eq. 1-2) whose exported graph computes the channel gate in
    the conv form of the module docstring (:func:`summed_mlp_gate`: the
    block-diagonal MLP's two outputs summed by the second conv, the sigmoid
    on the (N, sum C_b, 1, 1) gate, not per map element) and spreads the B
    spatial gates (N, B, H, W) to the channels of their branches with a 1x1
    conv of 0/1 weights (``E[c, b] = 1`` where channel ``c`` is branch
    ``b``'s) instead of a ``Gather`` (which OpenVINO runs in plain layout,
    with a reorder of the gate map each way). The spatial logits are the
    wrapped module's (:meth:`StackedCBAM.spatial_logits`). In eager
    PyTorch it runs the wrapped module unchanged.

    Whole CBAM-LiteHRNet-18, 256x192, batch 1, 1 thread: OpenVINO -3 to
    -4% (16.4 -> 15.9 ms beside LiteHRNet-18's 14.2), ONNX Runtime
    unchanged (17.1 ms) (docs/speed.md).

    Args:
        stacked (StackedCBAM): the module to wrap.

    Shapes:
        input (N, sum C_b, H, W) -> output (N, sum C_b, H, W).
    """

    def __init__(self, stacked: StackedCBAM):
        super().__init__()
        if not isinstance(stacked, StackedCBAM):
            raise TypeError('ConvGateStackedCBAM wraps a StackedCBAM, got '
                            f'{type(stacked).__name__}')
        self.stacked = stacked
        self.act = copy.deepcopy(stacked.act)
        register_summed_mlp(self, stacked.mlp_in, stacked.mlp_out)
        branch = stacked.branch_of_channel
        spread = torch.zeros(branch.numel(), len(stacked.channels), 1, 1)
        spread[torch.arange(branch.numel()), branch] = 1
        self.register_buffer('spread_weight',
                             spread.to(stacked.mlp_in.weight))

    @property
    def channels(self) -> list:
        """C_b of every branch, as the wrapped module."""
        return self.stacked.channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing():
            return self.stacked(x)
        x = x * summed_mlp_gate(self, x)
        gates = torch.sigmoid(self.stacked.spatial_logits(x))
        return x * F.conv2d(gates, self.spread_weight)
