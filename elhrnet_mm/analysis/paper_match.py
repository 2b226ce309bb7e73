"""Our counts beside a published row: same convention, same unit.

A published row says how its FLOPs were counted (``flops_convention``, a
key of the data file's ``flops_conventions``) and in which unit
(``flops_unit``); :data:`COUNT_OF_CONVENTION` says which of our counts
(:class:`~.report.FlopsCounts` fields) is that convention. Rows of other
conventions (``as-cited``, ``unstated``) have no count of ours.
"""
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .published import find_rows
from .report import ComplexityReport, FlopsCounts, PaperMatch
from .units import in_unit, to_giga

#: Published convention -> (our :class:`FlopsCounts` field, binary units).
COUNT_OF_CONVENTION: Dict[str, Tuple[str, bool]] = {
    'hrnet-paper': ('hrnet_paper_scale', False),
    'torchstat-binary': ('torchstat', True),
    'mmengine': ('mmengine', False),
}
#: Where a row of a convention we do not count is shown in a report.
UNCOUNTED_LINE = 'hrnet_paper_scale'


def flops_in_row_unit(flops: FlopsCounts,
                      row: Dict[str, Any]) -> Optional[float]:
    """Our FLOPs in the convention and printed unit of a published row.

    None when we do not count the row's convention, or the count is
    unknown (no HRNet-paper scale at this input).
    """
    entry = COUNT_OF_CONVENTION.get(row['flops_convention'])
    if entry is None:
        return None
    field, binary = entry
    count = getattr(flops, field)
    return None if count is None else in_unit(count, row['flops_unit'],
                                              binary)


def row_gflops(row: Dict[str, Any]) -> float:
    """A row's printed FLOPs in G (its own convention, as printed)."""
    return to_giga(row['flops'], row['flops_unit'])


def deviation_pct(measured: Optional[float],
                  published: Optional[float]) -> Optional[float]:
    """(measured - published) / published in percent, to 0.01."""
    if measured is None or not published:
        return None
    return round((measured - published) / published * 100, 2)


def match_rows(config: str, input_hw: Sequence[int], params: int,
               flops: FlopsCounts) -> Tuple[PaperMatch, ...]:
    """The published rows of ``config`` at ``input_hw`` with deviations."""
    matches = []
    for row in find_rows(config_name=config, input_size=input_hw):
        ours = flops_in_row_unit(flops, row)
        matches.append(
            PaperMatch(row=row,
                       flops_ours=ours,
                       params_deviation_pct=deviation_pct(
                           params / 1e6, row['params']),
                       flops_deviation_pct=deviation_pct(ours, row['flops'])))
    return tuple(matches)


def other_sizes(config: str,
                input_hw: Sequence[int]) -> Tuple[Tuple[int, int], ...]:
    """(H, W) of the config's published rows at inputs other than this."""
    return tuple(
        sorted({tuple(r['input_size'])
                for r in find_rows(config_name=config)} -
               {tuple(int(v) for v in input_hw)}))


def gflops_in_paper_convention(
        report: ComplexityReport,
        rows: Sequence[Dict[str, Any]]) -> Tuple[float, str]:
    """(our GFLOPs, convention) in the convention of a config's rows.

    The first row whose convention we count gives it; otherwise mmengine.
    """
    for row in rows:
        value = flops_in_row_unit(report.flops, row)
        if value is not None:
            return to_giga(value, row['flops_unit']), row['flops_convention']
    return report.flops.mmengine / 1e9, 'mmengine'


# ------------------------------------------------------------ printing ----
@dataclass(frozen=True)
class PaperColumn:
    """One distinct published (params, FLOPs) of a config, as text.

    Attributes:
        head: paper, tables and datasets of the rows it stands for.
        params: printed params with our deviation; None if not printed.
        flops: printed FLOPs, convention and our deviation; None if not
            printed.
        line: the :class:`FlopsCounts` field whose line it sits beside.
        flops_ours: our count in the row's convention and unit, or None.
    """
    head: str
    params: Optional[str]
    flops: Optional[str]
    line: str
    flops_ours: Optional[str]


def _pct(value: Optional[float]) -> str:
    return '' if value is None else f' ({value:+.1f}%)'


def paper_columns(report: ComplexityReport) -> List[PaperColumn]:
    """One column per distinct published (params, FLOPs) of the report."""
    groups: Dict[tuple, List[PaperMatch]] = OrderedDict()
    for match in report.paper:
        row = match.row
        key = (row['paper'], row['params'], row['flops'], row['flops_unit'],
               row['flops_convention'])
        groups.setdefault(key, []).append(match)
    columns = []
    for (paper, params, flops, unit, convention), matches in groups.items():
        rows = [m.row for m in matches]
        tables = ', '.join(dict.fromkeys(r['table'] for r in rows))
        datasets = ', '.join(dict.fromkeys(r['dataset'] for r in rows))
        first = matches[0]
        params_text = flops_text = ours = None
        if params is not None:
            params_text = (first.row.get('params_text', f'{params} M') +
                           _pct(first.params_deviation_pct))
        if flops is not None:
            flops_text = (first.row.get('flops_text', f'{flops} {unit}') +
                          f' [{convention}]' +
                          _pct(first.flops_deviation_pct))
            if first.flops_ours is not None:
                ours = f'{first.flops_ours:.3f} {unit}'
        columns.append(
            PaperColumn(head=f'{paper} {tables} ({datasets})',
                        params=params_text,
                        flops=flops_text,
                        line=COUNT_OF_CONVENTION.get(
                            convention, (UNCOUNTED_LINE, ))[0],
                        flops_ours=ours))
    return columns
