"""Params and FLOPs of a pose model config, next to the published numbers.

    python tools/analysis_tools/get_flops.py CONFIG [--input-shape H [W]]
        [--json] [--cfg-options k=v ...]

Builds ``cfg.model`` on the CPU (no weights; ``forward`` routed to
``_forward`` as in MMPose's tool) and counts it under every convention of
``elhrnet_mm.utils.complexity``: parameters, mmengine FLOPs (what MMPose's
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
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction

from elhrnet_mm.published import config_stem, find_rows
from elhrnet_mm.utils.complexity import (HRNET_W32_CONFIG, build_estimator,
                                         conv_macs, count_params,
                                         hrnet_w32_flops, hrnet_w32_published,
                                         mmengine_flops, torchstat_flops)
from elhrnet_mm.utils.input_size import input_hw_of

#: Convention of the HRNet-W32 ratio: conv + linear MACs, which is what
#: HRNet's authors counted.
RATIO_CONVENTION = 'conv_macs'
#: Keypoint count assumed when the config's head has no ``out_channels``.
DEFAULT_KEYPOINTS = 17


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


def measured_in_row_unit(report: Dict[str, Any],
                         row: Dict[str, Any]) -> Optional[float]:
    """Our FLOPs in the convention and printed unit of a published row."""
    flops = report['flops']
    giga = row.get('flops_unit', 'G') == 'G'
    convention = row['flops_convention']
    if convention == 'hrnet-paper' and flops['hrnet_paper_scale'] is not None:
        return flops['hrnet_paper_scale'] / (1e9 if giga else 1e6)
    if convention == 'torchstat-binary':
        return flops['torchstat'] / (2**30 if giga else 2**20)
    if convention == 'torchstat-decimal':
        return flops['torchstat'] / (1e9 if giga else 1e6)
    if convention == 'mmengine':
        return flops['mmengine'] / (1e9 if giga else 1e6)
    return None


def _deviation_pct(measured: Optional[float],
                   published: Optional[float]) -> Optional[float]:
    if measured is None or not published:
        return None
    return round((measured - published) / published * 100, 2)


def measure(config: str, cfg: Config, input_hw: Tuple[int, int],
            num_keypoints: int) -> Dict[str, Any]:
    """Count the model of ``cfg`` and gather the published rows."""
    model = build_estimator(cfg)
    height, width = input_hw
    shape = (1, 3, height, width)
    stat = torchstat_flops(model, shape)
    macs = conv_macs(model, shape)
    try:
        reference = hrnet_w32_flops(RATIO_CONVENTION, input_hw, num_keypoints)
    except RuntimeError:  # HRNet-W32's 4 branches need H, W divisible by 32
        reference = None
    ratio = None if reference is None else macs / reference
    published_hrnet = hrnet_w32_published(input_hw)
    report: Dict[str, Any] = {
        'config': config,
        'input_shape': list(shape),
        'num_keypoints': num_keypoints,
        'params': count_params(model),
        'flops': {
            'mmengine':
            mmengine_flops(model, shape),
            'torchstat':
            stat.flops,
            'conv_macs':
            macs,
            'hrnet_ratio':
            ratio,
            'hrnet_paper_scale': (ratio * published_hrnet['flops'] *
                                  1e9 if published_hrnet and ratio else None),
        },
        'torchstat': {
            'params': stat.params,
            'flops_binary_m': stat.flops_binary_m,
            'unknown_modules': list(stat.unknown_modules),
        },
        'hrnet_reference': {
            'config': f'mmpose::{HRNET_W32_CONFIG}',
            'num_keypoints': num_keypoints,
            'convention': RATIO_CONVENTION,
            'flops': reference,
            'published': published_hrnet,
        },
    }
    rows = find_rows(config_name=config, input_size=input_hw)
    for row in rows:
        row['deviation_pct'] = {
            'params':
            _deviation_pct(report['params'] / 1e6, row['params']),
            'flops':
            _deviation_pct(measured_in_row_unit(report, row), row['flops']),
        }
    report['paper'] = rows
    report['paper_other_sizes'] = sorted(
        {tuple(r['input_size'])
         for r in find_rows(config_name=config)} - {tuple(input_hw)})
    return report


# ------------------------------------------------------------ the table ----
def _pct(value: Optional[float]) -> str:
    return '' if value is None else f' ({value:+.1f}%)'


def paper_columns(report: Dict[str, Any]) -> List[Dict[str, str]]:
    """One column per distinct published (params, FLOPs) of this config.

    Each column maps ``'head'`` (paper, tables, datasets) and, where the
    paper prints them, ``'params'`` and ``'flops'`` (printed text, FLOPs
    convention, our deviation) to text; the FLOPs text is also under the
    key of the table line it compares with (``'paper_scale'``,
    ``'torchstat'`` or ``'mmengine'``), and ``'flops_ours'`` is our count
    in the row's convention and unit, where we have one.
    """
    groups: Dict[tuple, List[Dict[str, Any]]] = {}
    for row in report['paper']:
        key = (row['paper'], row['params'], row['flops'],
               row.get('flops_unit', 'G'), row['flops_convention'])
        groups.setdefault(key, []).append(row)
    line_of = {
        'hrnet-paper': 'paper_scale',
        'torchstat-binary': 'torchstat',
        'torchstat-decimal': 'torchstat',
        'mmengine': 'mmengine'
    }
    columns = []
    for (paper, params, flops, unit, convention), rows in groups.items():
        tables = ', '.join(dict.fromkeys(r['table'] for r in rows))
        datasets = ', '.join(dict.fromkeys(r['dataset'] for r in rows))
        column = {'head': f'{paper} {tables} ({datasets})'}
        first = rows[0]
        if params is not None:
            column['params'] = (first.get('params_text', f'{params} M') +
                                _pct(first['deviation_pct']['params']))
        if flops is not None:
            column['flops'] = (first.get('flops_text', f'{flops} {unit}') +
                               f' [{convention}]' +
                               _pct(first['deviation_pct']['flops']))
            column[line_of.get(convention, 'paper_scale')] = column['flops']
            ours = measured_in_row_unit(report, first)
            if ours is not None:
                column['flops_ours'] = f'{ours:.3f} {unit}'
        columns.append(column)
    return columns


def format_report(report: Dict[str, Any]) -> str:
    """The human-readable table of :func:`measure`'s report."""
    flops = report['flops']
    ref = report['hrnet_reference']
    published = ref['published']
    _, _, height, width = report['input_shape']
    scale = (f'x {published["flops"]} G' if published else 'n/a')
    lines = [
        ('params', 'params', f'{report["params"] / 1e6:.3f} M'),
        ('mmengine', 'FLOPs, mmengine (MMPose get_flops)',
         f'{flops["mmengine"] / 1e9:.3f} G'),
        ('torchstat', 'FLOPs, torchstat (M = 2^20)',
         f'{flops["torchstat"] / 2**20:.1f} M'),
        ('conv_macs', 'conv + linear MACs',
         f'{flops["conv_macs"] / 1e9:.3f} G'),
        ('ratio', 'ratio to HRNet-W32 (conv MACs)', 'n/a'
         if flops['hrnet_ratio'] is None else f'{flops["hrnet_ratio"]:.4f}'),
        ('paper_scale', f'FLOPs, HRNet paper scale ({scale})',
         'n/a' if flops['hrnet_paper_scale'] is None else
         f'{flops["hrnet_paper_scale"] / 1e9:.3f} G'),
    ]
    columns = paper_columns(report)
    table = [['', 'measured'] + [c['head'] for c in columns]]
    table += [[label, value] + [c.get(key, '') for c in columns]
              for key, label, value in lines]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    out = [
        f'config: {report["config"]}',
        f'input:  1 x 3 x {height} x {width} (N x C x H x W), '
        f'{report["num_keypoints"]} keypoints', ''
    ]
    out += [
        '  '.join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip()
        for r in table
    ]
    out.append('')
    if not columns:
        stem = config_stem(report['config'])
        other = ', '.join(f'{h}x{w}' for h, w in report['paper_other_sizes'])
        out.append(f'published: no row for {stem} at {height}x{width}' +
                   (f' (rows exist at {other})' if other else ''))
    unknown = report['torchstat']['unknown_modules']
    if unknown:
        kinds = Counter(entry.split(' (', 1)[1][:-1] for entry in unknown)
        out.append(f'torchstat: {len(unknown)} module(s) counted as 0 FLOPs '
                   'because no rule knows their type: ' +
                   ', '.join(f'{k} x{n}' for k, n in kinds.items()))
        out += [f'  {entry}' for entry in unknown]
    else:
        out.append('torchstat: every module that ran has a counting rule')
    if ref['flops'] is None:
        out.append(f'HRNet-W32 reference: {ref["config"]} does not run at '
                   f'{height}x{width} (H and W must be divisible by 32): no '
                   'ratio')
        return '\n'.join(out)
    out.append(
        f'HRNet-W32 reference: {ref["config"]} with {ref["num_keypoints"]} '
        f'keypoints at {height}x{width}: {ref["flops"] / 1e9:.3f} G conv '
        'MACs; ' +
        (f'published {published["flops"]} GFLOPs (Sun et al. 2019, '
         f'{published["table"]}, {published["dataset"]})' if published else
         'the HRNet paper gives no HRNet-W32 figure at this size'))
    return '\n'.join(out)


# ----------------------------------------------------------------- main ----
def measure_config(
        config: str,
        input_shape: Optional[List[int]] = None,
        cfg_options: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Load ``config`` and :func:`measure` it (the report of ``--json``).

    Args:
        config: path of a model config.
        input_shape: ``[H, W]`` or ``[S]``; default the codec's input size.
        cfg_options: settings merged into the config first.

    Raises:
        ValueError: no input size known, or the forward pass failed at it.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    input_hw = input_hw_of(cfg, input_shape)
    if input_hw is None:
        raise ValueError('the config has no codec input_size; pass '
                         '--input-shape H W')
    num_keypoints = cfg.model.get('head', {}).get('out_channels')
    if num_keypoints is None:
        num_keypoints = DEFAULT_KEYPOINTS
        print(
            f'get_flops: head has no out_channels; the HRNet-W32 '
            f'reference uses {num_keypoints} keypoints',
            file=sys.stderr)
    try:
        return measure(config, cfg, input_hw, int(num_keypoints))
    except RuntimeError as error:
        raise ValueError(
            f'forward pass failed at --input-shape {input_hw[0]} '
            f'{input_hw[1]} (multi-resolution networks need H and W '
            f'divisible by 32): {error}') from error


def run(args: argparse.Namespace,
        parser: argparse.ArgumentParser) -> Dict[str, Any]:
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
        stdout.write(json.dumps(report) + '\n')
    else:
        print(format_report(run(args, parser)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
