"""Latency measurement shared by the speed benchmark and the exporters.

Models are timed *interleaved*: every repetition calls each model once, so a
slow phase of a shared machine hits all of them alike and their ratios stay
meaningful (absolute milliseconds do not). Each call is timed alone with
``time.perf_counter``; the garbage collector is disabled while timing and
run between calls.
"""
import gc
import importlib.metadata
import os
import platform
import re
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch

#: A zero-argument callable running one forward pass of a model, returning
#: only when the result is ready (it synchronizes the GPU itself).
Runner = Callable[[], object]


def pytorch_runner(model: torch.nn.Module, inputs: torch.Tensor) -> Runner:
    """One eager forward pass of ``model`` on ``inputs`` under
    ``torch.inference_mode`` (synchronized when ``inputs`` is on CUDA)."""

    def run():
        with torch.inference_mode():
            out = model(inputs)
        if inputs.is_cuda:
            torch.cuda.synchronize(inputs.device)
        return out

    return run


def interleaved_latency_ms(
        runners: Sequence[Runner],
        warmup: int,
        runs: int,
        on_call: Optional[Callable[[], None]] = None) -> List[List[float]]:
    """Time the runners round-robin; returns each runner's ``runs`` times.

    Repetition r calls the runners in order, starting at ``r % len``
    (rotating who goes first); the first ``warmup`` repetitions are not
    recorded.

    Args:
        runners: the models to time.
        warmup (int): untimed repetitions first (>= 0).
        runs (int): timed repetitions (>= 1).
        on_call: called after every call (e.g. to advance a progress bar).

    Returns:
        list[list[float]]: per runner, its ``runs`` latencies in ms.
    """
    if warmup < 0 or runs < 1:
        raise ValueError(f'warmup must be >= 0 and runs >= 1, got warmup='
                         f'{warmup}, runs={runs}')
    times: List[List[float]] = [[] for _ in runners]
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for rep in range(warmup + runs):
            for step in range(len(runners)):
                index = (rep + step) % len(runners)
                gc.collect()
                start = time.perf_counter()
                runners[index]()
                elapsed = (time.perf_counter() - start) * 1e3
                if rep >= warmup:
                    times[index].append(elapsed)
                if on_call is not None:
                    on_call()
    finally:
        if was_enabled:
            gc.enable()
    return times


def summarize_ms(times: Sequence[float]) -> Dict[str, float]:
    """``median_ms``, ``min_ms`` and ``max_ms`` of latencies in ms."""
    return dict(
        median_ms=float(statistics.median(times)),
        min_ms=float(min(times)),
        max_ms=float(max(times)))


def cpu_model_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else ``platform``)."""
    try:
        with open('/proc/cpuinfo') as f:
            match = re.search(r'^model name\s*:\s*(.+)$', f.read(), re.M)
        if match:
            return match.group(1).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown'


def describe_machine() -> Dict[str, object]:
    """The machine and library versions a timing was taken with.

    Keys: ``cpu``, ``cores`` (logical CPUs this process may use),
    ``platform``, ``python``, ``torch``, ``onnxruntime`` and ``openvino``
    (None when not installed).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return dict(
        cpu=cpu_model_name(),
        cores=cores,
        platform=platform.platform(),
        python=platform.python_version(),
        torch=torch.__version__,
        onnxruntime=_version('onnxruntime'),
        openvino=_version('openvino'))


def _version(package: str) -> Optional[str]:
    """The installed version of ``package``, None when it is not
    installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
