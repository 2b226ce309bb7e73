"""Params and FLOPs of a pose model config, next to the published numbers.

    python tools/analysis_tools/get_flops.py CONFIG [--input-shape H [W]]
        [--json] [--cfg-options k=v ...]

Builds ``cfg.model`` on the CPU (no weights; ``forward`` routed to
``_forward`` as in MMPose's tool) and counts it under every convention of
``elhrnet_mm.analysis.counters``: parameters, mmengine FLOPs (what MMPose's
own ``get_flops.py`` prints), torchstat FLOPs (Lite-HRNet/Dite-HRNet papers,
binary "M"), plain conv MACs, the conv-MACs ratio to MMPose's HRNet-W32 at
the same input (null where HRNet-W32 cannot run at it: H, W not divisible
by 32), and that ratio times the HRNet paper's HRNet-W32 GFLOPs
("paper scale", the convention EL-HRNet's numbers follow). The published
rows whose ``ours`` is this config's name are shown beside, with the
deviation in percent. ``--input-shape`` is H W like MMPose's tool (one
value S means S x S); the default is the config codec's ``input_size``,
which MMPose writes as (W, H). ``--json`` prints one JSON object on stdout
and sends every log line to stderr. See docs/complexity.md.
"""
import argparse
import contextlib
import json
import os
import sys
from collections import Counter
from typing import Optional, Sequence, Tuple

from mmengine.config import DictAction

from elhrnet_mm.analysis.measure import measure_config
from elhrnet_mm.analysis.paper_match import paper_columns
from elhrnet_mm.analysis.published import config_stem
from elhrnet_mm.analysis.report import ComplexityReport


def parse_args(
    argv: Optional[Sequence[str]] = None
) -> Tuple[argparse.Namespace, argparse.ArgumentParser]:
    """Parse and check the command line."""
    parser = argparse.ArgumentParser(
        description='Params and FLOPs of a pose model config under several '
        'counting conventions, next to the published numbers')
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs='+',
        metavar='H W',
        help='input height and width (one value S means S x S); default: '
        "the config codec's input_size (written W, H in MMPose configs)")
    parser.add_argument(
        '--json',
        action='store_true',
        help='print one JSON object on stdout (logs go to stderr)')
    parser.add_argument('--cfg-options',
                        nargs='+',
                        action=DictAction,
                        help='override config settings, key=value pairs, e.g. '
                        'model.head.out_channels=16')
    args = parser.parse_args(argv)
    if not os.path.isfile(args.config):
        parser.error(f'config file not found: {args.config}')
    shape = args.input_shape
    if shape is not None and (len(shape) not in (1, 2) or min(shape) < 1):
        parser.error('--input-shape takes one or two positive integers '
                     f'(H W, or S for S x S), got {" ".join(map(str, shape))}')
    return args, parser


# ------------------------------------------------------------ the table ----
def format_report(report: ComplexityReport) -> str:
    """The human-readable table of a report."""
    flops = report.flops
    ref = report.hrnet_reference
    published = ref.published
    height, width = report.input_hw
    scale = (f'x {published["flops"]} G' if published else 'n/a')
    lines = [
        ('params', 'params', f'{report.params / 1e6:.3f} M'),
        ('mmengine', 'FLOPs, mmengine (MMPose get_flops)',
         f'{flops.mmengine / 1e9:.3f} G'),
        ('torchstat', 'FLOPs, torchstat (M = 2^20)',
         f'{flops.torchstat / 2**20:.1f} M'),
        ('conv_macs', 'conv + linear MACs', f'{flops.conv_macs / 1e9:.3f} G'),
        ('hrnet_ratio', 'ratio to HRNet-W32 (conv MACs)',
         'n/a' if flops.hrnet_ratio is None else f'{flops.hrnet_ratio:.4f}'),
        ('hrnet_paper_scale', f'FLOPs, HRNet paper scale ({scale})',
         'n/a' if flops.hrnet_paper_scale is None else
         f'{flops.hrnet_paper_scale / 1e9:.3f} G'),
    ]
    columns = paper_columns(report)

    def cell(column, key: str) -> str:
        if key == 'params':
            return column.params or ''
        return column.flops if column.line == key and column.flops else ''

    table = [['', 'measured'] + [c.head for c in columns]]
    table += [[label, value] + [cell(c, key) for c in columns]
              for key, label, value in lines]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    out = [
        f'config: {report.config}',
        f'input:  1 x 3 x {height} x {width} (N x C x H x W), '
        f'{report.num_keypoints} keypoints', ''
    ]
    out += [
        '  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
        for r in table
    ]
    out.append('')
    if not columns:
        stem = config_stem(report.config)
        other = ', '.join(f'{h}x{w}' for h, w in report.paper_other_sizes)
        out.append(f'published: no row for {stem} at {height}x{width}' +
                   (f' (rows exist at {other})' if other else ''))
    unknown = report.torchstat.unknown_modules
    if unknown:
        kinds = Counter(entry.split(' (', 1)[1][:-1] for entry in unknown)
        out.append(f'torchstat: {len(unknown)} module(s) counted as 0 FLOPs '
                   'because no rule knows their type: ' +
                   ', '.join(f'{k} x{n}' for k, n in kinds.items()))
        out += [f'  {entry}' for entry in unknown]
    else:
        out.append('torchstat: every module that ran has a counting rule')
    if ref.flops is None:
        out.append(f'HRNet-W32 reference: {ref.config} does not run at '
                   f'{height}x{width} (H and W must be divisible by 32): no '
                   'ratio')
        return '\n'.join(out)
    out.append(
        f'HRNet-W32 reference: {ref.config} with {ref.num_keypoints} '
        f'keypoints at {height}x{width}: {ref.flops / 1e9:.3f} G conv '
        'MACs; ' +
        (f'published {published["flops"]} GFLOPs (Sun et al. 2019, '
         f'{published["table"]}, {published["dataset"]})' if published else
         'the HRNet paper gives no HRNet-W32 figure at this size'))
    return '\n'.join(out)


# ----------------------------------------------------------------- main ----
def run(args: argparse.Namespace,
        parser: argparse.ArgumentParser) -> ComplexityReport:
    """Measure the config of ``args``; problems exit via ``parser``."""
    try:
        return measure_config(args.config, args.input_shape, args.cfg_options)
    except ValueError as error:
        parser.error(str(error))


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, parser = parse_args(argv)
    if args.json:
        stdout = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            report = run(args, parser)
        stdout.write(json.dumps(report.to_json()) + '\n')
    else:
        print(format_report(run(args, parser)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
