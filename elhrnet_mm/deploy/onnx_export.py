"""ONNX export of the inference network, checked and timed with ONNX Runtime.

The graph is :func:`~elhrnet_mm.deploy.build_inference_model`'s network
(backbone + neck + head, ``(N, 3, H, W) -> (N, K, H / s, W / s)`` heatmaps,
input name ``input``, output name ``heatmaps``): no data preprocessor, no
codec decoding, no flip test, no training targets.

Exporter: PyTorch's TorchScript-tracing exporter,
``torch.onnx.export(..., dynamo=False)``. In torch 2.13 the default
``dynamo=True`` (``torch.export`` based) needs the ``onnxscript`` package
and took 6-7x longer on our models (121 s vs 18 s for EL-HRNet-W32 on one
core) for the same graph; the tracing exporter is deprecated but present,
needs nothing beyond torch, writes dynamic axes directly, and under it
``torch.jit.is_tracing()`` is True, which is how our backbones skip their
input-size check (:class:`~elhrnet_mm.models.backbones.mixins.
MultiResolutionInputMixin`) so the graph holds no Python shape checks.
Details and numbers: docs/deployment.md.

H and W are fixed in every export (adaptive pooling to a traced size is
written as plain average pooling, :mod:`.fixed_size_pooling`). A dynamic
batch (``dynamic_batch=True``) needs Dite-HRNet's dynamic kernels
in a batch-independent form: the exporter exports a copy of the model in
which every ``KernelAggregation`` is a :class:`~.kernel_bank_conv.
KernelBankConv` (exact, K times the MACs of those convs). A fixed-batch
export keeps the original (cheaper) formulation.

onnx and onnxruntime are optional (``pip install "elhrnet_mm[deploy]"``);
they are imported when needed, with :class:`MissingDeployExtraError` when
absent.
"""
import copy
import importlib
import warnings
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .fixed_size_pooling import fixed_size_adaptive_pooling
from .kernel_bank_conv import replace_kernel_aggregation
from .latency import Runner

#: How to install the optional packages this module needs.
DEPLOY_INSTALL_HINT = 'pip install "elhrnet_mm[deploy]"'
INPUT_NAME = 'input'
OUTPUT_NAME = 'heatmaps'
#: ONNX opset written by default (ONNX Runtime >= 1.12, TensorRT >= 8.6).
DEFAULT_OPSET = 17
#: Opsets allowed: 11 (ONNX's ``Resize`` with PyTorch's interpolation
#: modes; the oldest we checked) to 20 (the tracing exporter's newest).
OPSET_RANGE = (11, 20)
#: Largest allowed max |ONNX Runtime - PyTorch| of a verified export, for
#: heatmaps within [-1, 1] (a trained model's); larger outputs (untrained
#: weights reach 10-100) scale it by their max |value|, as float32 rounding
#: does (:func:`verify_tolerance`).
VERIFY_ATOL = 1e-4
#: Execution provider of each ``device``.
PROVIDERS = {'cpu': 'CPUExecutionProvider', 'cuda': 'CUDAExecutionProvider'}


class MissingDeployExtraError(ImportError):
    """onnx or onnxruntime is not installed."""


def import_deploy_package(name: str):
    """Import ``onnx`` or ``onnxruntime``, or raise
    :class:`MissingDeployExtraError` saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise MissingDeployExtraError(
            f'the optional package {name!r} is not installed ({error}); '
            f'ONNX export and ONNX Runtime need the deploy extra: '
            f'{DEPLOY_INSTALL_HINT}') from error


def check_opset(opset: int) -> int:
    """``opset`` if the exporter supports it, else a ValueError."""
    low, high = OPSET_RANGE
    if not isinstance(opset, int) or not low <= opset <= high:
        raise ValueError(f'opset {opset!r} is not supported; allowed: '
                         f'{low} to {high}')
    return opset


def export_onnx(model: nn.Module,
                path: str,
                input_shape: Sequence[int],
                dynamic_batch: bool = False,
                opset: int = DEFAULT_OPSET) -> int:
    """Export ``model`` to ONNX at ``path`` and check the file with
    ``onnx.checker``.

    Args:
        model (nn.Module): the inference network in eval mode (not
            modified: a dynamic-batch export rewrites a copy).
        path (str): the ``.onnx`` file to write (weights inside the file).
        input_shape (Sequence[int]): (N, 3, H, W) of the traced input; the
            graph is fixed to it, except N with ``dynamic_batch``.
        dynamic_batch (bool): make the batch axis of ``input`` and
            ``heatmaps`` dynamic (``'batch'``). Default: False.
        opset (int): ONNX opset, within :data:`OPSET_RANGE`.
            Default: :data:`DEFAULT_OPSET`.

    Returns:
        int: how many dynamic-kernel convs were rewritten as
        :class:`~.kernel_bank_conv.KernelBankConv` (0 without
        ``dynamic_batch``).
    """
    onnx = import_deploy_package('onnx')
    check_opset(opset)
    if len(input_shape) != 4:
        raise ValueError(f'input_shape must be (N, 3, H, W), got '
                         f'{tuple(input_shape)}')
    rewritten = 0
    if dynamic_batch:
        model = copy.deepcopy(model)
        rewritten = replace_kernel_aggregation(model)
    model.eval()
    dummy = torch.randn(*input_shape)
    axes = {INPUT_NAME: {0: 'batch'}, OUTPUT_NAME: {0: 'batch'}}
    with warnings.catch_warnings(), fixed_size_adaptive_pooling():
        # the tracing exporter's deprecation notice, and TracerWarnings for
        # Python values read from shapes (export-time checks, constant for
        # a fixed H and W; a dynamic batch is verified at other sizes)
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.filterwarnings(  # shape-inference notes on constants
            'ignore', category=UserWarning, module=r'torch\.onnx')
        torch.onnx.export(
            model, (dummy, ),
            path,
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes if dynamic_batch else None,
            opset_version=opset)
    onnx.checker.check_model(path, full_check=True)
    return rewritten


def create_session(path: str, threads: int = 1, device: str = 'cpu'):
    """An ``onnxruntime.InferenceSession`` of ``path`` with every graph
    optimisation, ``threads`` intra-op threads (one inter-op thread) on
    ``device`` ('cpu' or 'cuda')."""
    ort = import_deploy_package('onnxruntime')
    if device not in PROVIDERS:
        raise ValueError(f'device {device!r}; allowed: {sorted(PROVIDERS)}')
    provider = PROVIDERS[device]
    if provider not in ort.get_available_providers():
        raise RuntimeError(
            f'onnxruntime {ort.__version__} has no {provider} (available: '
            f'{", ".join(ort.get_available_providers())}); for CUDA install '
            'onnxruntime-gpu in place of onnxruntime')
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    return ort.InferenceSession(path, options, providers=[provider])


def run_session(session, inputs: np.ndarray) -> np.ndarray:
    """The session's heatmaps for a float32 (N, 3, H, W) array."""
    return session.run([OUTPUT_NAME], {INPUT_NAME: inputs})[0]


def ort_runner(session, inputs: np.ndarray) -> Runner:
    """One ONNX Runtime forward pass (see :mod:`.latency`)."""
    return lambda: run_session(session, inputs)


def verify_tolerance(max_abs_output: float) -> float:
    """:data:`VERIFY_ATOL` times ``max(1, max |PyTorch output|)``."""
    return VERIFY_ATOL * max(1.0, max_abs_output)


def max_abs_difference(model: nn.Module, session,
                       inputs: Dict[str, torch.Tensor]
                       ) -> Dict[str, Tuple[float, float]]:
    """Per named input: (max |ONNX Runtime - PyTorch|, max |PyTorch|) of the
    heatmaps (the second gives the scale of the first)."""
    differences = {}
    for name, tensor in inputs.items():
        with torch.inference_mode():
            expected = model(tensor).numpy()
        got = run_session(session, tensor.numpy())
        if got.shape != expected.shape:
            raise RuntimeError(
                f'ONNX output shape {got.shape} != PyTorch {expected.shape} '
                f'for input {name} {tuple(tensor.shape)}')
        differences[name] = (float(np.abs(got - expected).max()),
                            float(np.abs(expected).max()))
    return differences
