"""Evaluation results as ``tools/test.py`` / ``mim test`` leave them.

A result is a work dir (its latest ``<timestamp>/<timestamp>.json``), a
metrics JSON file (that mmengine log, or ``tools/test.py --out``), or
``CONFIG=RESULT``. Its config is, in this order: the explicit ``CONFIG``;
the config the Runner dumped into the work dir (when there is exactly one
``*.py`` there); the shipped config the work dir is named after. The metric
names say the dataset (:data:`FAMILIES`): ``coco/*`` (MMPose's
``CocoMetric``, COCO val2017), ``crowdpose/*`` (CrowdPose test), ``* PCK``
(``MpiiPCKAccuracy``, MPII val); metrics are converted to percent and to
the metric names of the published rows.
"""
import contextlib
import glob
import json
import os
import os.path as osp
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from ..zoo import shipped_configs
from .measure import measure_config
from .published import config_stem
from .report import ComplexityReport

#: Keys of an mmengine test log that are not metrics.
LOG_KEYS = ('data_time', 'time', 'step', 'epoch', 'iter', 'lr', 'memory')
#: Metric families: the dataset key of published_numbers.yaml, the prefix
#: of MMPose's metric names, their scale to percent, and MMPose's name ->
#: the published metric name.
FAMILIES = OrderedDict([
    ('coco-val2017',
     dict(prefix='coco/',
          scale=100,
          names={
              'AP': 'AP',
              'AP .5': 'AP50',
              'AP .75': 'AP75',
              'AP (M)': 'APM',
              'AP (L)': 'APL',
              'AR': 'AR',
              'AR .5': 'AR50',
              'AR .75': 'AR75',
              'AR (M)': 'ARM',
              'AR (L)': 'ARL'
          })),
    ('crowdpose-test',
     dict(prefix='crowdpose/',
          scale=100,
          names={
              'AP': 'AP',
              'AP .5': 'AP50',
              'AP .75': 'AP75',
              'AP(E)': 'APE',
              'AP(M)': 'APM',
              'AP(H)': 'APH',
              'AR': None,
              'AR .5': None,
              'AR .75': None
          })),
    ('mpii-val',
     dict(prefix='',
          scale=1,
          names={
              'Head PCK': 'Head',
              'Shoulder PCK': 'Shoulder',
              'Elbow PCK': 'Elbow',
              'Wrist PCK': 'Wrist',
              'Hip PCK': 'Hip',
              'Knee PCK': 'Knee',
              'Ankle PCK': 'Ankle',
              'PCK': 'Mean',
              'PCK@0.1': 'Mean@0.1'
          })),
])


@dataclass(frozen=True)
class EvalResult:
    """One evaluation result.

    Attributes:
        result: the metrics file read.
        config: the config that was evaluated.
        name: its file stem (how published rows name our configs).
        dataset: key of the dataset in the published numbers.
        metrics: published metric name -> value in percent.
    """
    result: str
    config: str
    name: str
    dataset: str
    metrics: Dict[str, float]


@dataclass(frozen=True)
class MeasuredResult:
    """A result with a display label and the complexity of its config."""
    result: EvalResult
    label: str
    report: ComplexityReport


class ResultError(ValueError):
    """A result that cannot be used; the message says which and why."""


def latest_log(work_dir: str) -> str:
    """``<work_dir>/<timestamp>/<timestamp>.json`` of the latest run."""
    logs = [
        p for p in glob.glob(osp.join(work_dir, '*', '*.json'))
        if osp.basename(p)[:-5] == osp.basename(osp.dirname(p))
    ]
    if not logs:
        raise ResultError(
            f'{work_dir}: no <timestamp>/<timestamp>.json in this work dir '
            '(was tools/test.py / mim test run with it as --work-dir?)')
    return sorted(logs)[-1]


def read_metrics(path: str) -> Tuple[str, Dict[str, float]]:
    """(dataset key, {published metric name: percent}) of a result file.

    The file holds one JSON object (mmengine writes a test log as one line;
    the last line is used if there are several).
    """
    try:
        with open(path) as file:
            lines = [line for line in file.read().splitlines() if line.strip()]
        data = json.loads(lines[-1]) if lines else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultError(f'{path}: cannot read the result: {error}')
    if not isinstance(data, dict):
        raise ResultError(f'{path}: expected a JSON object of metrics')
    metrics = {k: v for k, v in data.items() if k not in LOG_KEYS}
    for dataset, family in FAMILIES.items():
        prefix, names = family['prefix'], family['names']
        ours = {
            k[len(prefix):]: v
            for k, v in metrics.items() if k.startswith(prefix)
        }
        if not any(name in names for name in ours):
            continue
        unknown = sorted(
            (prefix + k) for k in ours if k not in names) + sorted(
                k for k in metrics if not k.startswith(prefix))
        if unknown:
            raise ResultError(
                f'{path}: unknown metric name(s) {unknown} for {dataset}; '
                'allowed: ' + ', '.join(prefix + n for n in names))
        bad = [
            k for k, v in ours.items()
            if isinstance(v, bool) or not isinstance(v, (int, float))
        ]
        if bad:
            raise ResultError(f'{path}: metric(s) {bad} are not numbers')
        return dataset, {
            names[k]: float(v) * family['scale']
            for k, v in ours.items() if names[k]
        }
    allowed = '; '.join(f'{d}: ' + ', '.join(f['prefix'] + n
                                             for n in f['names'])
                        for d, f in FAMILIES.items())
    raise ResultError(f'{path}: unknown metric name(s) '
                           f'{sorted(metrics)}; allowed: {allowed}')


def _shipped_by_stem() -> Dict[str, str]:
    return {config_stem(p): p for p in shipped_configs()}


def resolve(argument: str) -> EvalResult:
    """The result of a RESULT argument: a work dir, a metrics JSON file,
    or ``CONFIG=RESULT`` (see the module docstring)."""
    config = None
    if '=' in argument and not osp.exists(argument):
        config, argument = argument.split('=', 1)
        if not osp.isfile(config):
            raise ResultError(f'{config}: config file not found '
                                   f'(in CONFIG=RESULT {config}={argument})')
    if osp.isdir(argument):
        work_dir, path = argument, latest_log(argument)
    elif osp.isfile(argument):
        path = argument
        run_dir = osp.dirname(osp.abspath(path))
        is_log = osp.basename(path)[:-5] == osp.basename(run_dir)
        work_dir = osp.dirname(run_dir) if is_log else run_dir
    else:
        raise ResultError(f'{argument}: result not found (give a work '
                               'dir, a metrics JSON file, or CONFIG=RESULT)')
    if config is None:
        dumped = glob.glob(osp.join(work_dir, '*.py'))
        shipped = _shipped_by_stem().get(osp.basename(osp.abspath(work_dir)))
        if len(dumped) == 1:
            config = dumped[0]
        elif shipped:
            config = shipped
        else:
            raise ResultError(
                f'{argument}: cannot tell which config was evaluated: '
                f'{work_dir} holds {len(dumped)} dumped config(s) (*.py) and '
                'is not named after a shipped config; pass CONFIG=RESULT')
    dataset, metrics = read_metrics(path)
    return EvalResult(result=path,
                      config=config,
                      name=config_stem(config),
                      dataset=dataset,
                      metrics=metrics)


def collect(arguments: Sequence[str], root: str) -> List[MeasuredResult]:
    """Resolve every RESULT and count its config (one count per config).

    Labels are result paths relative to ``root`` when inside it.
    """
    results, reports = [], {}
    for argument in arguments:
        result = resolve(argument)
        path = osp.abspath(result.result)
        label = (osp.relpath(path, root)
                 if path.startswith(osp.abspath(root) + os.sep) else
                 result.result)
        if result.config not in reports:
            try:
                with contextlib.redirect_stdout(sys.stderr):
                    reports[result.config] = measure_config(result.config)
            except ValueError as error:
                raise ResultError(f'{argument}: cannot count its config '
                                  f'{result.config}: {error}') from error
        results.append(
            MeasuredResult(result=result,
                           label=label,
                           report=reports[result.config]))
    return results
