"""Render the published numbers of a paper into a README, from the data file.

The tables between ``<!-- paper-tables:begin PAPER -->`` and
``<!-- paper-tables:end -->`` in a markdown file are generated from
``elhrnet_mm/data/published_numbers.yaml`` (one table per paper table, our
config named beside the rows it implements; ``elhrnet_mm.analysis
.paper_tables``); nothing is typed by hand.

    python tools/analysis_tools/paper_tables.py README.md [...] [--check]

``--check`` exits 1 when a file is out of date instead of rewriting it.
"""
import argparse
import sys

from elhrnet_mm.analysis.paper_tables import render_file
from elhrnet_mm.analysis.published import load_published


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('files', nargs='+')
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args(argv)
    data = load_published()
    stale = []
    for path in args.files:
        try:
            with open(path) as f:
                text = f.read()
            new = render_file(text, data)
        except (OSError, ValueError) as error:
            parser.error(f'{path}: {error}')
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
