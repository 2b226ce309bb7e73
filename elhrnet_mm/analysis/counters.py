"""Parameter and FLOP counters under the conventions that pose papers use.

Four ways of counting the same network give four different numbers, and the
papers this package reproduces each use one of them. ``docs/complexity.md``
explains every convention; in short:

* :func:`count_params` -- every parameter of the model.
* :func:`mmengine_flops` -- what MMPose's ``tools/analysis_tools/get_flops.py``
  prints (``mmengine.analysis``, decimal units).
* :func:`torchstat_flops` -- the vendored *torchstat* of the official
  Lite-HRNet / Dite-HRNet repositories (their published "205.2M" is
  ``flops / 2**20``); it also returns torchstat's parameter count (only the
  leaf modules that ran) and the modules it has no rule for.
* :func:`conv_macs` -- multiply-accumulates of convolution and linear layers
  only, which is what HRNet's authors reported as GFLOPs.

Every counter takes the model and an input shape ``(1, 3, H, W)``, runs one
forward pass in eval mode under ``torch.no_grad()`` and restores the model's
training flag afterwards. For a whole MMPose estimator use
:func:`elhrnet_mm.utils.mmpose_models.build_estimator`, which routes
``forward`` to ``_forward`` the way MMPose's tool does.
"""
import math
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import (Callable, Dict, Iterator, List, Optional, Sequence, Tuple,
                    Type, Union)

import torch
import torch.nn as nn
from mmcv.cnn.bricks import HSigmoid, HSwish

from ..models.blocks.dynamic_kernel_conv import KernelAggregation
from ..models.blocks.dynamic_split_conv import ConcatShuffle

#: The counting conventions understood by :func:`count_flops`.
CONVENTIONS = ('mmengine', 'torchstat', 'conv_macs')

#: Leaf modules counted as a ``Conv2d`` (:func:`register_conv_like`): the
#: counters know our conv-like modules; the models do not import them.
_CONV_LIKE: List[Type[nn.Module]] = [KernelAggregation]


def register_conv_like(module_type: Type[nn.Module]) -> Type[nn.Module]:
    """Count a custom leaf module as a ``Conv2d`` in the counters.

    Use it (also as a class decorator) for modules that convolve with their
    own weights through ``F.conv2d``, e.g. dynamic-kernel aggregation: the
    official Dite-HRNet torchstat counts its ``KernelAggregation`` as a
    Conv2d. The module must have ``kernel_size``, ``groups`` and ``bias``
    attributes; the channel counts are read from the input and output
    tensors (first positional input, first output).
    """
    if module_type not in _CONV_LIKE:
        _CONV_LIKE.append(module_type)
    return module_type


def _is_conv2d(module: nn.Module) -> bool:
    return isinstance(module, (nn.Conv2d, *_CONV_LIKE))


def _dummy_input(input_shape: Sequence[int]) -> torch.Tensor:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError('input_shape must be four positive ints '
                         f'(N, C, H, W), got {tuple(input_shape)}')
    generator = torch.Generator().manual_seed(0)
    return torch.rand(shape, generator=generator)


@contextmanager
def _eval_no_grad(model: nn.Module) -> Iterator[None]:
    """Eval mode without autograd; the training flag is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _forward_once(model: nn.Module, x: torch.Tensor, handles: list) -> None:
    """One eval-mode forward of ``x``; the hook ``handles`` are removed after.
    """
    try:
        with _eval_no_grad(model):
            model(x)
    finally:
        for handle in handles:
            handle.remove()


def _tensors(value) -> List[torch.Tensor]:
    """Tensors of a (nested) hook argument, in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    return []


def _pair(value: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    return int(value[0]), int(value[1])


# --------------------------------------------------------------- params ----
def count_params(model: nn.Module) -> int:
    """Number of parameters of ``model`` (shared parameters counted once)."""
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------- mmengine ----
def mmengine_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs as MMPose's ``get_flops.py`` prints them (mmengine analysis).

    This is ``mmengine.analysis.get_model_complexity_info(...)['flops']``
    (its :class:`~mmengine.analysis.FlopAnalyzer` total, computed here
    without the activation count the tool also makes). mmengine counts one
    multiply-add as one FLOP for convolutions and matmuls, adds
    ``numel`` for eval-mode batch norm, upsampling and adaptive pooling,
    and leaves out element-wise ops (add, mul, ReLU, sigmoid).
    """
    from mmengine.analysis import FlopAnalyzer

    inputs = (_dummy_input(input_shape), )
    with _eval_no_grad(model):
        analyzer = FlopAnalyzer(model, inputs)
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        return int(analyzer.total())


# ------------------------------------------------------------ torchstat ----
def _conv2d_rule(module: nn.Module, inp: torch.Tensor,
                 out: torch.Tensor) -> int:
    """k_h*k_w*C_in*(C_out/groups)*H_out*W_out (+ C_out*H_out*W_out bias)."""
    k_h, k_w = _pair(module.kernel_size)
    n, out_c, out_h, out_w = out.shape
    positions = n * out_h * out_w
    flops = k_h * k_w * inp.shape[1] * (out_c // module.groups) * positions
    if module.bias is not None:
        flops += out_c * positions
    return flops


def _conv_transpose2d_rule(module: nn.ConvTranspose2d, inp: torch.Tensor,
                           out: torch.Tensor) -> int:
    """k_h*k_w*C_in*(C_out/groups)*H_in*W_in (+ C_out*H_out*W_out bias)."""
    k_h, k_w = _pair(module.kernel_size)
    n, _, in_h, in_w = inp.shape
    out_c = module.out_channels
    flops = (k_h * k_w * module.in_channels * (out_c // module.groups) * n *
             in_h * in_w)
    if module.bias is not None:
        flops += out_c * n * out.shape[2] * out.shape[3]
    return flops


def _batchnorm2d_rule(module: nn.BatchNorm2d, inp: torch.Tensor,
                      out: torch.Tensor) -> int:
    """2*numel with affine parameters, numel without."""
    return inp.numel() * (2 if module.affine else 1)


def _pool2d_rule(module: nn.Module, inp: torch.Tensor,
                 out: torch.Tensor) -> int:
    """N*C*H_out*W_out*k_h*k_w."""
    k_h, k_w = _pair(module.kernel_size)
    return out.numel() * k_h * k_w


def _adaptive_pool2d_rule(module: nn.Module, inp: torch.Tensor,
                          out: torch.Tensor) -> int:
    """Sum over output cells of N*C*(rows+1)*(cols+1) of its input window.

    For an output of 1x1 this is C*(H+1)*(W+1).
    """
    n, c, in_h, in_w = inp.shape
    out_h, out_w = out.shape[2], out.shape[3]
    flops = 0
    for i in range(out_h):
        rows = (math.ceil((i + 1) * in_h / out_h) -
                math.floor(i * in_h / out_h))
        for j in range(out_w):
            cols = (math.ceil((j + 1) * in_w / out_w) -
                    math.floor(j * in_w / out_w))
            flops += n * c * (rows + 1) * (cols + 1)
    return flops


def _elementwise_rule(module: nn.Module, inp: torch.Tensor,
                      out: torch.Tensor) -> int:
    """numel of the input."""
    return inp.numel()


def _upsample_rule(module: nn.Upsample, inp: torch.Tensor,
                   out: torch.Tensor) -> int:
    """N*H_out*W_out: torchstat leaves out the channels."""
    return out.shape[0] * math.prod(out.shape[2:])


def _linear_rule(module: nn.Linear, inp: torch.Tensor,
                 out: torch.Tensor) -> int:
    """in_features*out_features per output row; torchstat adds no bias."""
    rows = out.numel() // module.out_features
    return rows * module.in_features * module.out_features


def _zero_rule(module: nn.Module, inp: torch.Tensor,
               out: torch.Tensor) -> int:
    """Counted as free, as torchstat does."""
    return 0


_Rule = Callable[[nn.Module, torch.Tensor, torch.Tensor], int]

#: torchstat rules by module type, checked in order with ``isinstance``.
TORCHSTAT_RULES: Tuple[Tuple[Tuple[type, ...], _Rule], ...] = (
    ((nn.ConvTranspose2d, ), _conv_transpose2d_rule),
    ((nn.BatchNorm2d, ), _batchnorm2d_rule),
    ((nn.AvgPool2d, nn.MaxPool2d), _pool2d_rule),
    ((nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d), _adaptive_pool2d_rule),
    ((nn.ReLU, nn.ReLU6, nn.PReLU, nn.ELU, nn.LeakyReLU), _elementwise_rule),
    ((nn.Upsample, ), _upsample_rule),
    ((nn.Linear, ), _linear_rule),
    # Gates and no-ops: torchstat has no rule and counts 0; listing them
    # keeps them out of the "unknown" report. Hard-swish is counted 0 like
    # torchstat does, although it is an activation (see docs/complexity.md).
    ((nn.Sigmoid, nn.Softmax, nn.Hardsigmoid, nn.Hardswish, nn.Identity,
      nn.Dropout, nn.Dropout2d, nn.Flatten, HSigmoid, HSwish, ConcatShuffle),
     _zero_rule),
)


def _torchstat_rule(module: nn.Module) -> Optional[_Rule]:
    if _is_conv2d(module):
        return _conv2d_rule
    for types, rule in TORCHSTAT_RULES:
        if isinstance(module, types):
            return rule
    return None


@dataclass(frozen=True)
class TorchstatCount:
    """Result of :func:`torchstat_flops`.

    Attributes:
        flops: total FLOPs (a MAC count for convolutions).
        params: parameters of the leaf modules that ran.
        unknown_modules: in module order, ``'name (Type)'`` of every leaf
            module that ran but was counted 0 FLOPs because no rule knows
            its type, and ``'name (Type, own parameters)'`` of every
            non-leaf module that ran and holds parameters directly
            (torchstat counts neither their FLOPs nor those parameters).
    """
    flops: int
    params: int
    unknown_modules: Tuple[str, ...]

    @property
    def flops_binary_m(self) -> float:
        """FLOPs in torchstat's printed unit: "M" means 2**20."""
        return self.flops / 2**20


def torchstat_flops(model: nn.Module,
                    input_shape: Sequence[int]) -> TorchstatCount:
    """Count FLOPs and parameters the way the Lite/Dite-HRNet papers did.

    Forward hooks on every leaf module (a module without children) record,
    for the module's *last* call only, its FLOPs under the rule of its type
    and its parameter count; leaf modules that do not run add nothing.
    Rules (see :data:`TORCHSTAT_RULES`): Conv2d (and :func:`register_conv_like`
    types) and ConvTranspose2d MACs plus one add per output for a bias,
    BatchNorm2d 2*numel, ReLU/ReLU6/PReLU/ELU/LeakyReLU numel, Avg/MaxPool2d
    N*C*H_out*W_out*k*k, adaptive pools C*(H+1)*(W+1) for a 1x1 output,
    Upsample N*H_out*W_out, Linear in*out per row; Sigmoid, Softmax,
    hard-sigmoid/-swish, Identity, Dropout and all functional ops 0.
    Modules of any other type count 0 and are listed in
    :attr:`TorchstatCount.unknown_modules`.
    """
    x = _dummy_input(input_shape)
    records: Dict[str, Tuple[int, int]] = {}
    unknown: Dict[str, str] = {}

    def leaf_hook(name: str, module: nn.Module, args, kwargs, output) -> None:
        inputs, outputs = _tensors((args, kwargs)), _tensors(output)
        rule = _torchstat_rule(module)
        if rule is None or not inputs or not outputs:
            unknown[name] = f'{name} ({type(module).__name__})'
            flops = 0
        else:
            flops = int(rule(module, inputs[0], outputs[0]))
        records[name] = (flops, sum(p.numel() for p in module.parameters()))

    def owner_hook(name: str, module: nn.Module, args, output) -> None:
        unknown[name] = f'{name} ({type(module).__name__}, own parameters)'

    handles = []
    for name, module in model.named_modules():
        if next(module.children(), None) is None:
            handles.append(
                module.register_forward_hook(
                    partial(leaf_hook, name), with_kwargs=True))
        elif next(module.parameters(recurse=False), None) is not None:
            handles.append(
                module.register_forward_hook(partial(owner_hook, name)))
    _forward_once(model, x, handles)
    order = {name: index for index, (name, _) in
             enumerate(model.named_modules())}
    return TorchstatCount(
        flops=sum(f for f, _ in records.values()),
        params=sum(p for _, p in records.values()),
        unknown_modules=tuple(unknown[name]
                              for name in sorted(unknown, key=order.get)))


# ------------------------------------------------------------ conv MACs ----
def _conv_macs_of(module: nn.Module, inp: torch.Tensor,
                  out: torch.Tensor) -> int:
    if isinstance(module, nn.ConvTranspose2d):
        k_h, k_w = _pair(module.kernel_size)
        return (k_h * k_w * module.in_channels *
                (module.out_channels // module.groups) * inp.shape[0] *
                inp.shape[2] * inp.shape[3])
    if isinstance(module, nn.Linear):
        return (out.numel() // module.out_features * module.in_features *
                module.out_features)
    k_h, k_w = _pair(module.kernel_size)
    return (k_h * k_w * (inp.shape[1] // module.groups) * out.numel())


def conv_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates of convolution and linear layers only.

    Counted per call (a module that runs twice counts twice): Conv2d (and
    :func:`register_conv_like` types) ``k_h*k_w*(C_in/groups)*C_out*H_out*
    W_out``, ConvTranspose2d ``k_h*k_w*C_in*(C_out/groups)*H_in*W_in`` (one
    MAC per weight and *input* pixel), Linear ``in*out`` per row, all times
    N. Biases, normalisation, activations, pooling, resizing and functional
    ops are not counted. HRNet's authors reported this quantity as GFLOPs.
    """
    x = _dummy_input(input_shape)
    total = 0

    def hook(module: nn.Module, args, output) -> None:
        nonlocal total
        inputs, outputs = _tensors(args), _tensors(output)
        total += _conv_macs_of(module, inputs[0], outputs[0])

    handles = [
        module.register_forward_hook(hook) for module in model.modules()
        if _is_conv2d(module)
        or isinstance(module, (nn.ConvTranspose2d, nn.Linear))
    ]
    _forward_once(model, x, handles)
    return total


# ----------------------------------------------------------- dispatcher ----
def count_flops(model: nn.Module, input_shape: Sequence[int],
                convention: str) -> int:
    """FLOPs of ``model`` under one of :data:`CONVENTIONS`."""
    if convention == 'mmengine':
        return mmengine_flops(model, input_shape)
    if convention == 'torchstat':
        return torchstat_flops(model, input_shape).flops
    if convention == 'conv_macs':
        return conv_macs(model, input_shape)
    raise ValueError(f'unknown FLOPs convention {convention!r}; '
                     f'expected one of {CONVENTIONS}')
