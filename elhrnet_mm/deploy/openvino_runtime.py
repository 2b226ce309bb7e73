"""OpenVINO: our ONNX file as an IR (``.xml`` + ``.bin``), compiled for the
CPU with explicit settings, run, verified and timed.

The IR is converted from the ONNX file :func:`~.onnx_export.export_onnx`
writes (``openvino.convert_model``), so ONNX Runtime and OpenVINO run the
same graph; weights stay float32 (``compress_to_fp16=False``; OpenVINO's
``save_model`` would otherwise store them as float16). Both files are
written atomically: into a temporary directory beside the target, then
renamed, the ``.bin`` first, so an ``.xml`` never points at a missing or
partial ``.bin`` and a failed conversion leaves nothing behind.

Compilation (:func:`compile_model`) sets, explicitly,

* ``INFERENCE_PRECISION_HINT``: ``f32`` by default (the CPU plugin may pick
  bf16 on CPUs with bf16 instructions otherwise); ``bf16`` on request, only
  where the CPU reports ``BF16`` in ``OPTIMIZATION_CAPABILITIES``;
* ``INFERENCE_NUM_THREADS``: the thread count;
* ``PERFORMANCE_HINT``: ``LATENCY`` (one stream, one request at a time);

and reads the three back from the compiled model: a plugin that would not
honour one raises :class:`OpenVINOSettingError` instead of timing something
else. OpenVINO officially supports Intel CPUs (and ARM); it runs on the AMD
EPYC of our measurements too (docs/deployment.md).

``openvino`` is part of the ``deploy`` extra
(:class:`~.onnx_export.MissingDeployExtraError` names it when absent).
"""
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Tuple

import numpy as np

from .latency import Runner
from .onnx_export import INPUT_NAME, Outputs, import_deploy_package

#: Inference precisions :func:`compile_model` accepts.
PRECISIONS = ('f32', 'bf16')
#: The only device we compile for.
DEVICE = 'CPU'
#: The performance hint of our measurements.
PERFORMANCE_HINT = 'LATENCY'


class OpenVINOSettingError(RuntimeError):
    """The compiled model does not have the settings asked for."""


def check_precision(precision: str) -> str:
    """``precision`` if one of :data:`PRECISIONS`, else a ValueError."""
    if precision not in PRECISIONS:
        raise ValueError(f'precision {precision!r} is not supported; '
                         f'allowed: {", ".join(PRECISIONS)}')
    return precision


def check_threads(threads: int) -> int:
    """``threads`` if a positive int, else a ValueError."""
    if isinstance(threads, bool) or not isinstance(threads, int) \
            or threads < 1:
        raise ValueError(f'threads must be a positive integer, got '
                         f'{threads!r}')
    return threads


def ir_paths(xml_path: str) -> Tuple[str, str]:
    """The ``.xml`` and ``.bin`` of an IR named by its ``.xml`` path."""
    if not xml_path.endswith('.xml'):
        raise ValueError(f'an OpenVINO IR is named by its .xml file, got '
                         f'{xml_path!r}')
    return xml_path, xml_path[:-len('.xml')] + '.bin'


def export_openvino(onnx_path: str, xml_path: str) -> Tuple[str, str]:
    """Convert the ONNX file ``onnx_path`` to an IR at ``xml_path`` (and the
    ``.bin`` beside it), float32 weights, atomically.

    Returns:
        tuple[str, str]: the ``.xml`` and ``.bin`` paths written.

    Raises:
        MissingDeployExtraError: openvino is not installed.
        FileNotFoundError: ``onnx_path`` or the target directory is missing.
    """
    ov = import_deploy_package('openvino')
    xml_path, bin_path = ir_paths(xml_path)
    if not osp.isfile(onnx_path):
        raise FileNotFoundError(f'ONNX file not found: {onnx_path}')
    directory = osp.dirname(osp.abspath(xml_path))
    if not osp.isdir(directory):
        raise FileNotFoundError(f'directory does not exist: {directory}')
    work = tempfile.mkdtemp(prefix='.openvino_ir_', dir=directory)
    try:
        tmp_xml, tmp_bin = ir_paths(osp.join(work, osp.basename(xml_path)))
        ov.save_model(ov.convert_model(onnx_path), tmp_xml,
                      compress_to_fp16=False)
        os.replace(tmp_bin, bin_path)
        os.replace(tmp_xml, xml_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return xml_path, bin_path


def cpu_config(threads: int = 1, precision: str = 'f32',
               perf_count: bool = False) -> Dict[str, object]:
    """The CPU plugin settings of our runs (see the module docstring);
    ``perf_count`` adds the per-node performance counters (profiling)."""
    config = {
        'INFERENCE_PRECISION_HINT': check_precision(precision),
        'INFERENCE_NUM_THREADS': check_threads(threads),
        'PERFORMANCE_HINT': PERFORMANCE_HINT,
    }
    if perf_count:
        config['PERF_COUNT'] = 'YES'
    return config


def _check_compiled(ov, compiled, threads: int,
                    precision: str) -> None:
    got = dict(
        precision=compiled.get_property('INFERENCE_PRECISION_HINT'),
        threads=int(compiled.get_property('INFERENCE_NUM_THREADS')),
        hint=str(compiled.get_property('PERFORMANCE_HINT')))
    # the plugin answers with enums: Type.f32, PerformanceMode.LATENCY
    if (got['precision'] != getattr(ov.Type, precision)
            or got['threads'] != threads
            or not got['hint'].upper().endswith(PERFORMANCE_HINT)):
        raise OpenVINOSettingError(
            f'OpenVINO {ov.get_version()} compiled the model with {got}, '
            f'not the requested precision {precision}, {threads} thread(s), '
            f'hint {PERFORMANCE_HINT}')


def compile_model(path: str, threads: int = 1, precision: str = 'f32',
                  perf_count: bool = False):
    """The model at ``path`` (ONNX or IR ``.xml``) compiled for the CPU with
    :func:`cpu_config`, its settings checked.

    Raises:
        MissingDeployExtraError: openvino is not installed.
        ValueError: unknown precision or a non-positive thread count (named).
        OpenVINOSettingError: bf16 on a CPU without it, or a setting the
            compiled model does not have.
    """
    config = cpu_config(threads, precision, perf_count)
    ov = import_deploy_package('openvino')
    if not osp.isfile(path):
        raise FileNotFoundError(f'model file not found: {path}')
    core = ov.Core()
    if precision == 'bf16':
        capabilities = core.get_property(DEVICE, 'OPTIMIZATION_CAPABILITIES')
        if 'BF16' not in capabilities:
            raise OpenVINOSettingError(
                f'precision bf16: this CPU has no bf16 support in OpenVINO '
                f'(OPTIMIZATION_CAPABILITIES: {", ".join(capabilities)}); '
                'allowed here: f32')
    compiled = core.compile_model(core.read_model(path), DEVICE, config)
    _check_compiled(ov, compiled, threads, precision)
    return compiled


def output_names_of(compiled) -> List[str]:
    """The compiled model's output names, in graph order."""
    return [output.get_any_name() for output in compiled.outputs]


def run_request(request, inputs: np.ndarray) -> Outputs:
    """One inference of ``request`` (``compiled.create_infer_request()``)
    on a float32 (N, 3, H, W) array: the outputs in graph order
    (copies)."""
    results = request.infer({INPUT_NAME: inputs})
    return [np.array(results[output]) for output in request.model_outputs]


def openvino_runner(compiled, inputs: np.ndarray) -> Runner:
    """One OpenVINO forward pass (see :mod:`.latency`), on a request of its
    own."""
    request = compiled.create_infer_request()
    return lambda: request.infer({INPUT_NAME: inputs})
