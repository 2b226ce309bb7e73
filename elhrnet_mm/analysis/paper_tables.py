"""The papers' results tables, rendered from the published-numbers file.

A markdown file holds blocks between ``<!-- paper-tables:begin PAPER -->``
and ``<!-- paper-tables:end -->``; :func:`render_file` regenerates each as
the paper's rows (one table per paper table, our config named beside the
rows it implements). Nothing is typed by hand.
"""
import re
from collections import OrderedDict
from typing import Any, Dict, List, Optional

BLOCK = re.compile(
    r'(<!-- paper-tables:begin (?P<paper>[\w.-]+) -->\n)(.*?)'
    r'(<!-- paper-tables:end -->)', re.S)


def _fmt(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.1f}'


def render_paper(paper: str, data: Dict[str, Any]) -> str:
    """Markdown tables of every row of ``paper``, grouped by table.

    ``data`` is :func:`~.published.load_published`'s result.
    """
    rows = [r for r in data['rows'] if r['paper'] == paper]
    if not rows:
        raise ValueError(f'no rows for paper {paper!r} in the data file')
    tables: Dict[str, List[dict]] = OrderedDict()
    for row in rows:
        tables.setdefault(f"{row['table']} ({row['dataset']})", []).append(row)
    out = []
    for title, table_rows in tables.items():
        metrics = [
            m for m in data['datasets'][table_rows[0]['dataset']]['metrics']
            if any(m in r.get('metrics', {}) for r in table_rows)
        ]
        head = ['Method', 'Backbone', 'Input', 'Params', 'FLOPs'] + \
            metrics + ['our config']
        out.append(f'**{title}**\n')
        out.append('| ' + ' | '.join(head) + ' |')
        out.append('|' + '---|' * len(head))
        for r in table_rows:
            flops = r.get('flops_text') or (
                '-' if r['flops'] is None else
                f"{_fmt(r['flops'])} {r['flops_unit']}")
            params = r.get('params_text') or _fmt(r['params'])
            cells = [
                r['model'],
                r.get('backbone', ''), 'x'.join(map(str, r['input_size'])),
                params, flops
            ] + [_fmt(r.get('metrics', {}).get(m)) for m in metrics]
            ours = r.get('ours')
            cells.append(f'[{ours}](./{ours}.py)' if ours else '')
            out.append('| ' + ' | '.join(cells) + ' |')
        out.append('')
    return '\n'.join(out)


def render_file(text: str, data: Dict[str, Any]) -> str:
    """``text`` with every paper-tables block regenerated."""
    return BLOCK.sub(
        lambda m: m.group(1) + render_paper(m.group('paper'), data) + '\n' +
        m.group(4), text)
