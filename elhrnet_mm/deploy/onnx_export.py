"""ONNX export of the inference network, checked and timed with ONNX Runtime.

The graph is :func:`~elhrnet_mm.deploy.build_inference_model`'s network
(backbone + neck + head; input name ``input``): no data preprocessor, no
codec decoding, no flip test, no training targets. Its outputs depend on the
head (:func:`output_names`): a heatmap head gives one output ``heatmaps``
``(N, K, H / s, W / s)``, a SimCC head (RTMPose's ``RTMCCHead``, MMPose's
``SimCCHead``) two, ``simcc_x`` ``(N, K, W * r)`` and ``simcc_y``
``(N, K, H * r)``. Any other head is refused with its type named
(:class:`UnsupportedModelError`), as is a module the exporter cannot trace.
The file is written atomically (a temporary file in the same directory,
checked, then renamed): a failed export leaves no file behind.

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

The exporter traces a copy of the model, in which it swaps the modules that
need an export form; the caller's model is not modified. H and W are fixed
in every export, so pooling to a traced size becomes plain average pooling
(:mod:`.fixed_size_pooling`). A dynamic batch (``dynamic_batch=True``) needs
Dite-HRNet's dynamic kernels in a batch-independent form: in the copy every
``KernelAggregation`` is a :class:`~.kernel_bank_conv.KernelBankConv`
(exact, K times the MACs of those convs). A fixed-batch export keeps the
original (cheaper) formulation.

onnx, onnxruntime and openvino are optional (``pip install
"elhrnet_mm[deploy]"``); they are imported when needed, with
:class:`MissingDeployExtraError` when absent.
"""
import contextlib
import copy
import importlib
import os
import os.path as osp
import tempfile
import warnings
from typing import Callable, Dict, Iterator, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .fixed_size_pooling import replace_adaptive_pooling
from .kernel_bank_conv import replace_kernel_aggregation
from .latency import Runner

#: How to install the optional packages this module needs.
DEPLOY_INSTALL_HINT = 'pip install "elhrnet_mm[deploy]"'
INPUT_NAME = 'input'
#: Output name of a heatmap head (and of any head-less module).
OUTPUT_NAME = 'heatmaps'
#: Output names of a SimCC head: the x and the y classification vectors.
SIMCC_OUTPUT_NAMES = ('simcc_x', 'simcc_y')
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


#: Model outputs as a run returns them: one array per output, in
#: :func:`output_names` order.
Outputs = List[np.ndarray]


class MissingDeployExtraError(ImportError):
    """onnx, onnxruntime or openvino is not installed."""


class UnsupportedModelError(ValueError):
    """The exporter cannot handle a module of the model (named)."""


def import_deploy_package(name: str):
    """Import ``onnx``, ``onnxruntime`` or ``openvino``, or raise
    :class:`MissingDeployExtraError` saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise MissingDeployExtraError(
            f'the optional package {name!r} is not installed ({error}); '
            f'ONNX export, ONNX Runtime and OpenVINO need the deploy extra: '
            f'{DEPLOY_INSTALL_HINT}') from error


def _head_outputs() -> Dict[type, Tuple[str, ...]]:
    from mmpose.models.heads import HeatmapHead, RTMCCHead, SimCCHead
    return {
        HeatmapHead: (OUTPUT_NAME, ),
        RTMCCHead: SIMCC_OUTPUT_NAMES,
        SimCCHead: SIMCC_OUTPUT_NAMES
    }


def output_names(model: nn.Module) -> Tuple[str, ...]:
    """The graph's output names for ``model``: by the type of its ``head``
    (``heatmaps``, or ``simcc_x``/``simcc_y``); ``heatmaps`` for a module
    without a head.

    Raises:
        UnsupportedModelError: the head is of another type (named).
    """
    head = getattr(model, 'head', None)
    if head is None:
        return (OUTPUT_NAME, )
    outputs = _head_outputs()
    for head_type, names in outputs.items():
        if isinstance(head, head_type):
            return names
    raise UnsupportedModelError(
        f'cannot export head type {type(head).__name__}: the exporter '
        'handles ' + ', '.join(f'{t.__name__} ({"/".join(n)})'
                               for t, n in outputs.items()))


@contextlib.contextmanager
def _naming_failing_module(model: nn.Module) -> Iterator[None]:
    """Re-raise an error of the exporter as :class:`UnsupportedModelError`
    naming the innermost module whose forward was running."""
    stack: List[str] = []
    names = {id(m): n for n, m in model.named_modules()}

    def enter(module, args):
        stack.append(f'{type(module).__name__} '
                     f'({names.get(id(module)) or "the model"})')

    def leave(module, args, output):
        stack.pop()

    handles = [h for m in model.modules() for h in (
        m.register_forward_pre_hook(enter), m.register_forward_hook(leave))]
    try:
        yield
    except (RuntimeError, TypeError, ValueError) as error:
        if isinstance(error, UnsupportedModelError):
            raise
        if not stack:  # failed after tracing: the error names the operator
            raise
        raise UnsupportedModelError(
            f'cannot export module type {stack[-1]} to ONNX: {error}'
        ) from error
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def atomic_output(path: str, suffix: str) -> Iterator[str]:
    """A temporary path beside ``path`` (same directory, ``suffix``); renamed
    to ``path`` when the block succeeds, removed when it fails."""
    directory = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix=suffix, dir=directory)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as open() would create it
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


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
            modified: the export-only module swaps happen on a copy).
        path (str): the ``.onnx`` file to write (weights inside the file),
            written atomically.
        input_shape (Sequence[int]): (N, 3, H, W) of the traced input; the
            graph is fixed to it, except N with ``dynamic_batch``.
        dynamic_batch (bool): make the batch axis of ``input`` and of every
            output dynamic (``'batch'``). Default: False.
        opset (int): ONNX opset, within :data:`OPSET_RANGE`.
            Default: :data:`DEFAULT_OPSET`.

    Returns:
        int: how many dynamic-kernel convs were rewritten as
        :class:`~.kernel_bank_conv.KernelBankConv` (0 without
        ``dynamic_batch``).

    Raises:
        UnsupportedModelError: a head or module the exporter cannot handle
            (its type named).
    """
    onnx = import_deploy_package('onnx')
    check_opset(opset)
    if len(input_shape) != 4:
        raise ValueError(f'input_shape must be (N, 3, H, W), got '
                         f'{tuple(input_shape)}')
    outputs = output_names(model)
    # the exported copy: export-only module swaps never touch ``model``
    model = copy.deepcopy(model).eval()
    replace_adaptive_pooling(model)
    rewritten = replace_kernel_aggregation(model) if dynamic_batch else 0
    dummy = torch.randn(*input_shape)
    axes = {name: {0: 'batch'} for name in (INPUT_NAME, *outputs)}
    with warnings.catch_warnings(), atomic_output(path, '.onnx') as tmp:
        # the tracing exporter's deprecation notice, and TracerWarnings for
        # Python values read from shapes (export-time checks, constant for
        # a fixed H and W; a dynamic batch is verified at other sizes)
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.filterwarnings(  # shape-inference notes on constants
            'ignore', category=UserWarning, module=r'torch\.onnx')
        with _naming_failing_module(model):
            torch.onnx.export(
                model, (dummy, ),
                tmp,
                dynamo=False,
                input_names=[INPUT_NAME],
                output_names=list(outputs),
                dynamic_axes=axes if dynamic_batch else None,
                opset_version=opset)
        onnx.checker.check_model(tmp, full_check=True)
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


def run_session(session, inputs: np.ndarray) -> Outputs:
    """The session's outputs (all, in graph order: ``[heatmaps]`` or
    ``[simcc_x, simcc_y]``) for a float32 (N, 3, H, W) array."""
    return session.run(None, {INPUT_NAME: inputs})


def ort_runner(session, inputs: np.ndarray) -> Runner:
    """One ONNX Runtime forward pass (see :mod:`.latency`)."""
    return lambda: run_session(session, inputs)


def verify_tolerance(max_abs_output: float) -> float:
    """:data:`VERIFY_ATOL` times ``max(1, max |PyTorch output|)``."""
    return VERIFY_ATOL * max(1.0, max_abs_output)


def pytorch_outputs(model: nn.Module, inputs: torch.Tensor) -> Outputs:
    """``model``'s outputs as arrays, in :func:`output_names` order."""
    with torch.inference_mode():
        out = model(inputs)
    return [t.numpy() for t in (out if isinstance(out, (tuple, list))
                                else (out, ))]


def max_abs_difference(model: nn.Module,
                       run: Callable[[np.ndarray], Outputs],
                       inputs: Dict[str, torch.Tensor]
                       ) -> Dict[str, Tuple[float, float]]:
    """Per named input: (max |runtime - PyTorch|, max |PyTorch|) over all
    outputs (the second gives the scale of the first).

    Args:
        model: the PyTorch network.
        run: the runtime under test, float32 array -> list of outputs (e.g.
            ``functools.partial(run_session, session)``).
        inputs: named (N, 3, H, W) inputs.
    """
    differences = {}
    for name, tensor in inputs.items():
        expected = pytorch_outputs(model, tensor)
        got = run(tensor.numpy())
        if [g.shape for g in got] != [e.shape for e in expected]:
            raise RuntimeError(
                f'runtime output shapes {[g.shape for g in got]} != PyTorch '
                f'{[e.shape for e in expected]} for input {name} '
                f'{tuple(tensor.shape)}')
        differences[name] = (
            max(float(np.abs(g - e).max()) for g, e in zip(got, expected)),
            max(float(np.abs(e).max()) for e in expected))
    return differences
