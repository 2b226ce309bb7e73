"""Per-operator time of an exported network in ONNX Runtime and OpenVINO.

Both runtimes time every node they execute: ONNX Runtime's profiler
(``SessionOptions.enable_profiling``, a Chrome-trace JSON file with one
``<node>_kernel_time`` event per node and run) and OpenVINO's performance
counters (``PERF_COUNT``, ``InferRequest.get_profiling_info()``). This
module turns either into :class:`NodeTime` records (mean time per forward
pass over the timed runs) and sums them per operator type and per block:
the node names of PyTorch's ONNX exporter are module scopes
(``/backbone/stage2/stage2.0/layers/layers.0/dcm/Conv``), which
:func:`block_of` maps back to the innermost module of the network that is
not a generic layer (a conv, a norm, a ``Sequential``...), e.g.
``GlobalContextModeling`` or ``DynamicKernelConv``. The runtimes' own
nodes (layout reorders, fused subgraphs named after one of their nodes) keep
whatever scope their name carries; nodes without one are ``(runtime)``.

The sums are of the nodes' own times; a forward pass also pays the
runtime's per-node dispatch, which is why they add up to a little less
than the latency :mod:`tools/analysis_tools/benchmark_speed.py` measures.
``tools/analysis_tools/profile_ops.py`` is the command line (docs/speed.md).
"""
import json
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch.nn as nn
from mmcv.cnn import ConvModule

from .onnx_export import import_deploy_package
from .openvino_runtime import compile_model

#: Runtimes :func:`profile_nodes` can profile.
RUNTIMES = ('onnxruntime', 'openvino')
#: Keys :func:`summarize` groups by.
GROUPINGS = ('op_type', 'block')
#: Block name of nodes whose name carries no module scope (the runtimes'
#: layout reorders, graph inputs' conversions).
RUNTIME_BLOCK = '(runtime)'
#: Module types that are layers, not blocks: a node inside one is charged
#: to the nearest enclosing module of another type.
GENERIC_MODULES = (ConvModule, nn.Conv2d, nn.ConvTranspose2d, nn.Linear,
                   nn.modules.batchnorm._BatchNorm, nn.ReLU, nn.ReLU6,
                   nn.Sigmoid, nn.Hardswish, nn.Hardsigmoid, nn.Identity,
                   nn.Sequential, nn.ModuleList, nn.AdaptiveAvgPool2d,
                   nn.AvgPool2d, nn.MaxPool2d, nn.Upsample)


@dataclass
class NodeTime:
    """One executed node: mean microseconds per forward pass."""
    name: str
    op_type: str
    us: float


def _check_runs(runs: int, warmup: int) -> None:
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f'runs must be a positive int, got {runs!r}')
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f'warmup must be an int >= 0, got {warmup!r}')


def parse_ort_profile(events: Sequence[dict], warmup: int) -> List[NodeTime]:
    """:class:`NodeTime` s from ONNX Runtime's profile events, ignoring the
    first ``warmup`` ``model_run`` s and averaging over the rest."""
    runs = sorted((e['ts'], e['ts'] + e['dur']) for e in events
                  if e.get('cat') == 'Session' and e.get('name') == 'model_run')
    if len(runs) <= warmup:
        raise ValueError(f'the profile has {len(runs)} runs, not more than '
                         f'the {warmup} warm-up runs')
    start = runs[warmup][0]
    timed = len(runs) - warmup
    total: Dict[Tuple[str, str], float] = defaultdict(float)
    for e in events:
        name = e.get('name', '')
        if (e.get('cat') != 'Node' or not name.endswith('_kernel_time')
                or e['ts'] < start):
            continue
        key = (name[:-len('_kernel_time')], e['args']['op_name'])
        total[key] += e['dur']
    return [NodeTime(n, op, us / timed) for (n, op), us in total.items()]


def profile_onnxruntime(path: str, inputs: np.ndarray, runs: int = 20,
                        warmup: int = 3, threads: int = 1) -> List[NodeTime]:
    """Per-node times of the ONNX model at ``path`` in ONNX Runtime (CPU,
    every graph optimisation, ``threads`` intra-op threads, as
    :func:`~.onnx_export.create_session`)."""
    _check_runs(runs, warmup)
    ort = import_deploy_package('onnxruntime')
    with tempfile.TemporaryDirectory(prefix='ort_profile_') as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(tmp, 'profile')
        session = ort.InferenceSession(
            path, options, providers=['CPUExecutionProvider'])
        feed = {session.get_inputs()[0].name: inputs}
        for _ in range(warmup + runs):
            session.run(None, feed)
        with open(session.end_profiling()) as f:
            events = json.load(f)
    return parse_ort_profile(events, warmup)


def profile_openvino(path: str, inputs: np.ndarray, runs: int = 20,
                     warmup: int = 3, threads: int = 1) -> List[NodeTime]:
    """Per-node times of the model at ``path`` (ONNX or IR ``.xml``) on
    OpenVINO's CPU plugin (:func:`~.openvino_runtime.compile_model`: f32,
    ``threads`` threads, latency hint, performance counters on), from the
    performance counters of every timed run; nodes the plugin fused away
    (``OPTIMIZED_OUT``) or did not run are left out."""
    _check_runs(runs, warmup)
    compiled = compile_model(path, threads=threads, perf_count=True)
    request = compiled.create_infer_request()
    total: Dict[Tuple[str, str], float] = defaultdict(float)
    for i in range(warmup + runs):
        request.infer({0: inputs})
        if i < warmup:
            continue
        for info in request.get_profiling_info():
            if info.status != info.Status.EXECUTED:
                continue
            total[(info.node_name, info.node_type)] += (
                info.real_time.total_seconds() * 1e6)
    return [NodeTime(n, op, us / runs) for (n, op), us in total.items()]


def profile_nodes(runtime: str, path: str, inputs: np.ndarray,
                  **kwargs) -> List[NodeTime]:
    """:func:`profile_onnxruntime` or :func:`profile_openvino`."""
    if runtime not in RUNTIMES:
        raise ValueError(f'runtime {runtime!r}; allowed: {RUNTIMES}')
    fn = profile_onnxruntime if runtime == 'onnxruntime' else profile_openvino
    return fn(path, inputs, **kwargs)


def _child(module: nn.Module, segment: str,
           parent_segment: Optional[str]) -> Optional[nn.Module]:
    """The submodule a scope segment names: ``name``, a dotted path
    (``layers.0``), or the exporter's ``<parent>.<index>`` form."""
    candidates = [segment]
    if parent_segment and segment.startswith(parent_segment + '.'):
        candidates.append(segment[len(parent_segment) + 1:])
    for candidate in candidates:
        try:
            return module.get_submodule(candidate)
        except AttributeError:
            continue
    return None


def block_of(node_name: str, model: nn.Module) -> str:
    """The class name of the innermost non-generic module (not in
    :data:`GENERIC_MODULES`) along the module scope of ``node_name``; the
    model's own class for nodes directly in it; :data:`RUNTIME_BLOCK` for
    names without a scope."""
    if not node_name.startswith('/'):
        return RUNTIME_BLOCK
    module, block = model, type(model).__name__
    previous = None
    for segment in node_name.strip('/').split('/')[:-1]:
        child = _child(module, segment, previous)
        if child is None:
            break
        module, previous = child, segment
        if not isinstance(child, GENERIC_MODULES):
            block = type(child).__name__
    return block


def summarize(nodes: Iterable[NodeTime], by: str = 'op_type',
              model: Optional[nn.Module] = None) -> List[dict]:
    """Rows ``{key, ms, share, nodes}`` (ms per forward pass, share of the
    total, how many nodes), largest first, grouped by op type or (with the
    exported ``model``) by :func:`block_of`."""
    if by not in GROUPINGS:
        raise ValueError(f'by={by!r}; allowed: {GROUPINGS}')
    if by == 'block' and model is None:
        raise ValueError("by='block' needs the exported model")
    nodes = list(nodes)
    total_us = sum(n.us for n in nodes)
    groups: Dict[str, List[float]] = defaultdict(lambda: [0.0, 0])
    for n in nodes:
        key = n.op_type if by == 'op_type' else block_of(n.name, model)
        groups[key][0] += n.us
        groups[key][1] += 1
    rows = [
        dict(key=k, ms=us / 1e3, share=us / total_us if total_us else 0.0,
             nodes=count) for k, (us, count) in groups.items()
    ]
    return sorted(rows, key=lambda r: -r['ms'])


def format_rows(rows: Sequence[dict], top: Optional[int] = None) -> str:
    """A plain-text table of :func:`summarize` rows (the first ``top``
    and the rest summed as ``(other)``)."""
    shown = list(rows if top is None else rows[:top])
    rest = rows[len(shown):]
    if rest:
        shown.append(
            dict(key='(other)', ms=sum(r['ms'] for r in rest),
                 share=sum(r['share'] for r in rest),
                 nodes=sum(r['nodes'] for r in rest)))
    width = max([len(r['key']) for r in shown] + [5])
    lines = [f'{"group".ljust(width)}  {"ms":>8}  {"share":>6}  {"nodes":>5}']
    lines += [
        f'{r["key"].ljust(width)}  {r["ms"]:8.3f}  {r["share"]:6.1%}  '
        f'{r["nodes"]:5d}' for r in shown
    ]
    total = sum(r['ms'] for r in rows)
    lines.append(f'{"total".ljust(width)}  {total:8.3f}')
    return '\n'.join(lines)
