"""Render the published numbers of a paper into a README, from the data file.

The tables between ``<!-- paper-tables:begin PAPER -->`` and
``<!-- paper-tables:end -->`` in a markdown file are generated from
``elhrnet_mm/data/published_numbers.yaml`` (one table per paper table, our
config named beside the rows it implements); nothing is typed by hand.

    python tools/analysis_tools/paper_tables.py README.md [...] [--check]

``--check`` exits 1 when a file is out of date instead of rewriting it.
"""
import argparse
import re
import sys
from collections import OrderedDict
from typing import Dict, List

from elhrnet_mm.published import load_published

BLOCK = re.compile(
    r'(<!-- paper-tables:begin (?P<paper>[\w.-]+) -->\n)(.*?)'
    r'(<!-- paper-tables:end -->)', re.S)


def _fmt(value) -> str:
    return '-' if value is None else f'{value:.1f}'


def render_paper(paper: str, data: Dict) -> str:
    """Markdown tables of every row of ``paper``, grouped by table."""
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
                f"{_fmt(r['flops'])} {r.get('flops_unit', 'G')}")
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


def render_file(text: str, data: Dict) -> str:
    """``text`` with every paper-tables block regenerated."""
    return BLOCK.sub(
        lambda m: m.group(1) + render_paper(m.group('paper'), data) + '\n' +
        m.group(4), text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('files', nargs='+')
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args(argv)
    data = load_published()
    stale = []
    for path in args.files:
        with open(path) as f:
            text = f.read()
        new = render_file(text, data)
        if new != text:
            stale.append(path)
            if not args.check:
                with open(path, 'w') as f:
                    f.write(new)
    if args.check and stale:
        print('out of date (run tools/analysis_tools/paper_tables.py): ' +
              ', '.join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
