"""Complexity table of every shipped config, and the metafiles' cost fields.

    python tools/analysis_tools/model_zoo.py [--check] [--doc FILE] [--jobs N]

Measures every config of ``elhrnet_mm.zoo.shipped_configs()`` (params,
FLOPs under every convention, the published rows with the deviation:
``elhrnet_mm.analysis.measure``) and writes

* the table between ``<!-- model-zoo:begin ... -->`` and
  ``<!-- model-zoo:end -->`` of ``docs/model_zoo.md``;
* ``FLOPs`` and ``Parameters`` of every model of
  ``configs/<collection>/metafile.yml`` (MIM metadata; mmengine FLOPs, as
  MMPose's and mmpretrain's metafiles count them).

Every shipped config must have exactly one ``Models`` entry in its
collection's metafile. ``--check`` writes nothing and exits 1 naming the
files that are out of date. ``make zoo`` runs the tool (a few minutes on
two CPU cores: one forward pass per config and convention).
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional, Sequence

from elhrnet_mm.analysis.model_zoo import (check_coverage, config_key,
                                           measure_zoo, render_all)
from elhrnet_mm.zoo import shipped_configs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(ROOT, 'docs', 'model_zoo.md')
COMMAND = 'make zoo'


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--doc', default=DOC, help='the model zoo page')
    parser.add_argument(
        '--check',
        action='store_true',
        help='write nothing; exit 1 when a file is out of date')
    parser.add_argument(
        '--jobs',
        type=int,
        default=os.cpu_count() or 1,
        help='processes measuring configs in parallel (one thread each); '
        'default: the number of CPU cores')
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f'--jobs must be a positive integer, got {args.jobs}')
    if not osp.isfile(args.doc):
        parser.error(f'--doc: file not found: {args.doc}')
    configs = shipped_configs()
    try:
        check_coverage([config_key(c) for c in configs])
        new = render_all(measure_zoo(configs, args.jobs), args.doc)
    except ValueError as error:
        parser.error(str(error))
    stale = []
    for path, text in new.items():
        with open(path) as file:
            if file.read() == text:
                continue
        stale.append(osp.relpath(osp.realpath(path), ROOT))
        if not args.check:
            with open(path, 'w') as file:
                file.write(text)
    if args.check and stale:
        print(f'out of date (run `{COMMAND}`): ' + ', '.join(stale),
              file=sys.stderr)
        return 1
    print(('up to date' if not stale else 'rewrote ' + ', '.join(stale)),
          file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
