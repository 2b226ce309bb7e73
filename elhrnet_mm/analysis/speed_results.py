"""Measured latency per config and runtime, from the speed tool's JSON.

``tools/analysis_tools/benchmark_speed.py --json`` writes one file per
run: ``settings`` (batch, backend, ...) and ``results`` rows with the
config's ``name`` and ``median_ms``; a run over several memory layouts adds
``fastest_layout`` rows (each config in its faster layout), which are read
instead. A row names its runtime in ``runtime``; without one the file's
``settings.backend`` applies (unless it is ``'all'``). Files of several
runtimes combine: :class:`Latency` keeps each runtime's median and the
best.
"""
import json
import statistics
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

#: What a file that names no runtime at all is recorded under.
UNKNOWN_RUNTIME = 'unknown runtime'


class SpeedFileError(ValueError):
    """A speed file that cannot be used; the message names it and why."""


@dataclass(frozen=True)
class Latency:
    """Median latency of one config in each runtime measured.

    Attributes:
        by_runtime: runtime -> median milliseconds.
    """
    by_runtime: Dict[str, float]

    @property
    def best_runtime(self) -> str:
        """The runtime of the lowest median (first one on ties)."""
        return min(self.by_runtime, key=self.by_runtime.get)

    @property
    def best_ms(self) -> float:
        return self.by_runtime[self.best_runtime]


def _runtime(row: dict, settings: dict) -> Optional[str]:
    backend = settings.get('backend')
    return row.get('runtime') or (backend if backend != 'all' else None)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def read_speed(
        paths: Sequence[str],
        warn: Callable[[str], None] = _to_stderr) -> Dict[str, Latency]:
    """:class:`Latency` by config name over ``benchmark_speed`` JSON files.

    A config measured in one runtime in several files (repeated runs in
    fresh processes) gets the median of their medians. Files must share one
    batch size (latencies at batch 1 and 32 are not comparable).

    Args:
        paths: the JSON files.
        warn: called with a message for each file that names no runtime
            (its medians are kept under :data:`UNKNOWN_RUNTIME`).

    Raises:
        SpeedFileError: a file is unreadable, not such a file, or of
            another batch size than the first.
    """
    by_name: Dict[str, Dict[str, List[float]]] = {}
    batch = None
    for path in paths:
        try:
            with open(path) as file:
                data = json.load(file)
            settings = data.get('settings') or {}
            rows = data.get('fastest_layout', data['results'])
            parsed = [(entry['name'], _runtime(entry, settings),
                       float(entry['median_ms'])) for entry in rows]
        except (OSError, json.JSONDecodeError) as error:
            raise SpeedFileError(f'--speed {path}: cannot read: {error}')
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise SpeedFileError(
                f'--speed {path}: not a benchmark_speed.py --json file '
                f'(needs results[].name and results[].median_ms): {error!r}')
        file_batch = settings.get('batch')
        if batch is None:
            batch = file_batch
        elif file_batch is not None and file_batch != batch:
            raise SpeedFileError(
                f'--speed {path}: settings.batch is {file_batch}, the other '
                f'files are batch {batch}; give files of one batch size')
        if any(runtime is None for _, runtime, _ in parsed):
            warn(f'--speed {path}: no runtime named (no settings.backend, no '
                 f'per-row runtime); its latencies count as '
                 f'"{UNKNOWN_RUNTIME}"')
        for name, runtime, median in parsed:
            by_name.setdefault(name, {}).setdefault(runtime or UNKNOWN_RUNTIME,
                                                    []).append(median)
    return {
        name: Latency({
            runtime: statistics.median(medians)
            for runtime, medians in runtimes.items()
        })
        for name, runtimes in by_name.items()
    }
