"""Numbers published in the papers this package reproduces.

The data live in ``elhrnet_mm/data/published_numbers.yaml``: one entry per
row of a paper's results table (params, FLOPs with their counting
convention and unit, metrics, and the name of our config that implements
the row's model, if any), plus the papers' citations, the datasets with
their metric names, and the FLOPs conventions. The file's header documents
the fields.

>>> from elhrnet_mm.analysis.published import find_rows
>>> [r['table'] for r in find_rows(
...     config_name='td-hm_el-hrnet-w32_1xb16-300e_coco-256x192')]
['Table 2', 'Table 3']
"""
import copy
from functools import lru_cache
from numbers import Real
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import yaml

from .units import DEFAULT_FLOPS_UNIT, FLOPS_UNITS

DATA_FILE = Path(__file__).parents[1] / 'data' / 'published_numbers.yaml'

_TOP_LEVEL = ('papers', 'datasets', 'flops_conventions', 'rows')
_PAPER_REQUIRED = ('title', 'authors', 'venue', 'year')
_ROW_REQUIRED = ('model', 'paper', 'table', 'dataset', 'input_size', 'params',
                 'flops', 'flops_convention', 'metrics')
_ROW_OPTIONAL = ('backbone', 'cited_as', 'params_text', 'flops_text',
                 'flops_unit', 'ours', 'variants', 'mmpose_config', 'note')


class PublishedDataError(ValueError):
    """The published-numbers file is malformed."""


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _check_row(row: Any, where: str, data: Dict[str, Any]) -> None:
    """Raise :class:`PublishedDataError` naming ``where`` and the field."""

    def fail(field: str, problem: str) -> None:
        raise PublishedDataError(f'{where}: field {field!r}: {problem}')

    if not isinstance(row, dict):
        raise PublishedDataError(f'{where}: expected a mapping, got {row!r}')
    for field in _ROW_REQUIRED:
        if field not in row:
            fail(field, 'missing (required)')
    for field in row:
        if field not in _ROW_REQUIRED + _ROW_OPTIONAL:
            fail(field, 'unknown field; allowed: ' +
                 ', '.join(_ROW_REQUIRED + _ROW_OPTIONAL))
    for field in ('model', 'table', 'backbone', 'cited_as', 'params_text',
                  'flops_text', 'ours', 'mmpose_config', 'note'):
        if field in row and not (isinstance(row[field], str) and row[field]):
            fail(field, f'expected a non-empty string, got {row[field]!r}')
    if 'variants' in row and not (
            isinstance(row['variants'], list) and row['variants'] and all(
                isinstance(v, str) and v for v in row['variants'])):
        fail('variants', 'expected a non-empty list of config stems, got '
             f'{row["variants"]!r}')
    if row['paper'] not in data['papers']:
        fail('paper', f'{row["paper"]!r} is not a key of `papers`')
    if row['dataset'] not in data['datasets']:
        fail('dataset', f'{row["dataset"]!r} is not a key of `datasets`')
    if row['flops_convention'] not in data['flops_conventions']:
        fail('flops_convention', f'{row["flops_convention"]!r} is not a key '
             'of `flops_conventions`')
    size = row['input_size']
    if not (isinstance(size, list) and len(size) == 2
            and all(isinstance(v, int) and v > 0 for v in size)):
        fail('input_size',
             f'expected [H, W] (two positive ints), got {size!r}')
    for field in ('params', 'flops'):
        if row[field] is not None and not _is_number(row[field]):
            fail(field, f'expected a number or null, got {row[field]!r}')
    if row.get('flops_unit', DEFAULT_FLOPS_UNIT) not in FLOPS_UNITS:
        fail('flops_unit', f'expected one of {FLOPS_UNITS}, '
             f'got {row["flops_unit"]!r}')
    metrics = row['metrics']
    if not isinstance(metrics, dict):
        fail('metrics', f'expected a mapping, got {metrics!r}')
    allowed = data['datasets'][row['dataset']]['metrics']
    for name, value in metrics.items():
        if name not in allowed:
            fail('metrics', f'{name!r} is not a metric of {row["dataset"]} '
                 f'(allowed: {", ".join(allowed)})')
        if not _is_number(value):
            fail('metrics', f'{name}: expected a number, got {value!r}')


def _check(data: Any, source: str) -> None:
    if not isinstance(data, dict):
        raise PublishedDataError(f'{source}: expected a mapping at top level')
    for key in _TOP_LEVEL:
        if not isinstance(data.get(key), (dict, list)):
            raise PublishedDataError(f'{source}: missing section {key!r}')
    for key, paper in data['papers'].items():
        where = f'{source}: papers.{key}'
        for field in _PAPER_REQUIRED:
            if not isinstance(paper, dict) or field not in paper:
                raise PublishedDataError(
                    f'{where}: field {field!r}: missing (required)')
        if 'doi' not in paper and 'url' not in paper:
            raise PublishedDataError(
                f'{where}: field \'doi\': missing (give a doi or a url)')
    for key, dataset in data['datasets'].items():
        if not (isinstance(dataset, dict)
                and isinstance(dataset.get('metrics'), list)):
            raise PublishedDataError(
                f'{source}: datasets.{key}: field \'metrics\': expected a '
                'list of metric names')
    for index, row in enumerate(data['rows']):
        label = ''
        if isinstance(row, dict):
            label = (f' ({row.get("model")}, {row.get("paper")} '
                     f'{row.get("table")})')
        _check_row(row, f'{source}: rows[{index}]{label}', data)


@lru_cache(maxsize=None)
def _load(path: str) -> Dict[str, Any]:
    with open(path, encoding='utf-8') as file:
        data = yaml.safe_load(file)
    _check(data, path)
    for row in data['rows']:
        row.setdefault('flops_unit', DEFAULT_FLOPS_UNIT)
    return data


def load_published(path: Union[str, Path, None] = None) -> Dict[str, Any]:
    """Parsed and validated published numbers (a fresh copy each call).

    Args:
        path: a published-numbers YAML file; the package's own by default.

    Returns:
        dict with ``papers``, ``datasets``, ``flops_conventions`` and
        ``rows`` (a list of row dicts), as in the file; every row has its
        ``flops_unit`` (:data:`~.units.DEFAULT_FLOPS_UNIT` where the file
        leaves it out).

    Raises:
        PublishedDataError: a section, an entry or a field is missing or
            malformed; the message names the entry and the field.
    """
    return copy.deepcopy(_load(str(path or DATA_FILE)))


def config_stem(config_name: Union[str, Path]) -> str:
    """``'a/b/td-hm_x.py'`` -> ``'td-hm_x'``: how rows name our configs."""
    name = Path(config_name).name
    return name[:-3] if name.endswith('.py') else name


def find_rows(config_name: Union[str, Path, None] = None,
              model: Optional[str] = None,
              paper: Optional[str] = None,
              dataset: Optional[str] = None,
              input_size: Optional[Sequence[int]] = None,
              path: Union[str, Path, None] = None) -> List[Dict[str, Any]]:
    """Rows matching every given filter, in file order (copies).

    Args:
        config_name: our config (a path, a file name or its stem); matches
            the rows whose ``ours`` is that stem or whose ``variants``
            (configs of another reading of the row's model) list it.
        model: matches ``model`` or ``backbone``, case-insensitively.
        paper: a key of ``papers``, e.g. ``'el-hrnet-sensors2024'``.
        dataset: e.g. ``'coco-val2017'``, ``'mpii-val'``.
        input_size: ``(H, W)``.
        path: a published-numbers file other than the package's.
    """
    rows = load_published(path)['rows']
    if config_name is not None:
        stem = config_stem(config_name)
        rows = [
            r for r in rows
            if r.get('ours') == stem or stem in r.get('variants', ())
        ]
    if model is not None:
        wanted = model.lower()
        rows = [
            r for r in rows if wanted in (r['model'].lower(),
                                          r.get('backbone', '').lower())
        ]
    if paper is not None:
        rows = [r for r in rows if r['paper'] == paper]
    if dataset is not None:
        rows = [r for r in rows if r['dataset'] == dataset]
    if input_size is not None:
        size = [int(v) for v in input_size]
        rows = [r for r in rows if r['input_size'] == size]
    return rows
