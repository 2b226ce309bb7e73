"""Our evaluation results beside the papers' rows, and a Pareto plot.

    python tools/leaderboard.py [RESULT ...] [--speed SPEED.json ...]
        [--output docs/leaderboard.md] [--plot docs/figures/pareto.png]

RESULT is what ``tools/test.py`` / ``mim test`` leave behind, in one of
three forms:

* a work dir (``work_dirs/<config>``): its latest run,
  ``<timestamp>/<timestamp>.json``, is used;
* a metrics JSON file: mmengine's ``<work_dir>/<timestamp>/<timestamp>.json``
  or the file of ``tools/test.py --out metrics.json``;
* ``CONFIG=RESULT``: either of the above, evaluated with CONFIG.

The config of a result is, in this order: the explicit ``CONFIG``; the
config the Runner dumped into the work dir (``<work_dir>/<config name>.py``,
when there is exactly one); the shipped config named like the work dir
(``work_dirs/<config stem>``, the default of both tools). Its name (file
stem) selects the paper rows (``elhrnet_mm.analysis.published``), and the
config file is counted with ``elhrnet_mm.analysis.measure.measure_config``
(the config that was evaluated, not the shipped one, when the two differ).

The metrics say the dataset: ``coco/*`` (MMPose's ``CocoMetric``, COCO
val2017), ``crowdpose/*`` (``CocoMetric(prefix='crowdpose')``, CrowdPose
test), ``* PCK`` (``MpiiPCKAccuracy``, MPII val). The tables between
``<!-- leaderboard:begin ... -->`` and ``<!-- leaderboard:end -->`` of the
output are regenerated: per dataset, the rows of the papers for every
shipped config, each followed by ours where there is a result. ``--speed``
takes JSON files of ``tools/analysis_tools/benchmark_speed.py --json`` (one
batch size; several runtimes combine): each config's latency in its best
runtime joins the table and the plot's latency panel. ``--plot`` draws
COCO val2017 AP against mmengine GFLOPs (log) and against that latency.
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

from elhrnet_mm.analysis.eval_results import collect
from elhrnet_mm.analysis.leaderboard_tables import render_doc, render_tables
from elhrnet_mm.analysis.model_zoo import metafile_flops
from elhrnet_mm.analysis.pareto_plot import collect_points, plot_pareto
from elhrnet_mm.analysis.speed_results import read_speed

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _note(message: str) -> None:
    print(f'leaderboard: {message}', file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 2)[2])
    parser.add_argument('results',
                        nargs='*',
                        metavar='RESULT',
                        help='work dir, metrics JSON, or CONFIG=RESULT')
    parser.add_argument('--speed',
                        nargs='+',
                        default=[],
                        metavar='SPEED.json',
                        help='benchmark_speed.py --json files')
    parser.add_argument('--output',
                        default=osp.join(ROOT, 'docs', 'leaderboard.md'),
                        help='markdown file with a leaderboard block')
    parser.add_argument('--plot', help='write the Pareto plot (PNG) here')
    args = parser.parse_args(argv)
    if not osp.isfile(args.output):
        parser.error(f'--output {args.output}: file not found')
    if args.plot and not args.plot.lower().endswith('.png'):
        parser.error(f'--plot {args.plot}: must end in .png')
    try:
        latency = read_speed(args.speed, warn=_note)
        results = collect(args.results, ROOT)
        with open(args.output) as file:
            text = render_doc(file.read(), render_tables(results, latency),
                              f'--output {args.output}')
    except ValueError as error:
        parser.error(str(error))
    with open(args.output, 'w') as file:
        file.write(text)
    if args.plot:
        gflops = {stem: f / 1e9 for stem, f in metafile_flops().items()}
        plot_pareto(collect_points(results, latency, gflops, note=_note),
                    args.plot)
    print(f'wrote {args.output}' + (f' and {args.plot}' if args.plot else ''),
          file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
