"""What components of a fused network cost in ONNX Runtime / OpenVINO.

    python tools/analysis_tools/price_components.py CONFIG
        --remove COMPONENT [COMPONENT ...] [--baseline CONFIG]
        [--runtime onnxruntime|openvino] [--runs N] [--warmup N]
        [--threads N] [--input-shape H W] [--json FILE]

CONFIG's network is built as ``benchmark_speed.py`` builds it (BN statistics
calibrated, fused, deploy rewrites applied) and timed beside copies of it
without each named component, and without all of them when several are
named (:mod:`elhrnet_mm.deploy.component_ablation`: the copies are not
exact, they exist only to be timed), and beside ``--baseline`` when given,
all interleaved in one process (medians). Machines are noisy: run it in
several fresh processes and compare the ratios (docs/speed.md, "what is
left per missed goal").
"""
import argparse
import copy
import json
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional, Sequence

import torch

from elhrnet_mm.cli.timing_arguments import (add_timing_arguments,
                                            check_timing_arguments)
from elhrnet_mm.deploy.component_ablation import (COMPONENTS,
                                                  remove_components)
from elhrnet_mm.deploy.config_source import load_config_at
from elhrnet_mm.deploy.inference_model import build_deploy_model
from elhrnet_mm.deploy.latency import (describe_machine,
                                       interleaved_latency_ms, summarize_ms)
from elhrnet_mm.deploy.onnx_export import (create_session, export_onnx,
                                           ort_runner)
from elhrnet_mm.deploy.openvino_runtime import (compile_model,
                                                openvino_runner)

#: Runtimes the networks can be timed in.
RUNTIMES = ('onnxruntime', 'openvino')


def parse_args(argv: Optional[Sequence[str]] = None):
    parser = argparse.ArgumentParser(
        description='Time a fused network beside copies of it without '
        'named components (not exact: for pricing only)')
    parser.add_argument('config', help='config file or mmpose::<path>')
    parser.add_argument('--remove', nargs='+', required=True,
                        metavar='COMPONENT',
                        help=f'components to remove: {", ".join(COMPONENTS)}')
    parser.add_argument('--baseline', metavar='CONFIG',
                        help='also time this config (ratios against it)')
    parser.add_argument('--runtime', default='openvino', choices=RUNTIMES,
                        help='Default: openvino')
    add_timing_arguments(parser, 'also write the results as JSON to FILE')
    args = parser.parse_args(argv)
    unknown = [name for name in args.remove if name not in COMPONENTS]
    if unknown:
        parser.error(f'--remove: unknown component(s) {unknown}; allowed: '
                     f'{", ".join(COMPONENTS)}')
    if len(set(args.remove)) != len(args.remove):
        parser.error(f'--remove names a component twice: {args.remove}')
    check_timing_arguments(parser, args, ('runs', 'threads'),
                           [args.runtime])
    return args, parser


def variants(remove: Sequence[str]) -> List[List[str]]:
    """The removals timed: none, each component alone, all of them (when
    there are several)."""
    alone = [[name] for name in remove]
    return [[]] + alone + ([list(remove)] if len(remove) > 1 else [])


def _runner(path: str, inputs, args):
    if args.runtime == 'onnxruntime':
        return ort_runner(create_session(path, args.threads), inputs)
    return openvino_runner(compile_model(path, args.threads), inputs)


def format_rows(rows: Sequence[Dict], args: argparse.Namespace) -> str:
    """The results as a markdown table: per network, modules removed,
    median ms, ms saved against the complete network, ratio to the
    baseline."""
    complete = rows[0]['median_ms']
    base = rows[-1]['median_ms'] if rows[-1]['network'] == 'baseline' \
        else None
    lines = [
        f'{args.config} | {args.runtime} | {args.threads} thread(s) | '
        f'{args.runs} runs, medians of interleaved calls | networks '
        'without components are not exact (for pricing only)', '',
        '| network | modules removed | ms | saved ms | vs baseline |',
        '|---|---:|---:|---:|---:|'
    ]
    for row in rows:
        removed = ', '.join(f'{n} {k}' for k, n in row['removed'].items())
        saved = ('' if row['network'] in ('complete', 'baseline') else
                 f'{complete - row["median_ms"]:.2f}')
        ratio = '' if base is None else f'{row["median_ms"] / base:.2f}x'
        name = row['network'] if row['network'] != 'baseline' else \
            f'baseline ({row["config"]})'
        lines.append(f'| {name} | {removed} | {row["median_ms"]:.2f} | '
                     f'{saved} | {ratio} |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, parser = parse_args(argv)
    torch.set_num_threads(args.threads)
    configs = [args.config] + ([args.baseline] if args.baseline else [])
    loaded = {}
    for config in configs:
        try:
            loaded[config] = load_config_at(config, args.input_shape)
        except (FileNotFoundError, ValueError) as error:
            parser.error(str(error))
    input_hw = loaded[args.config][1]
    shape = [1, 3, *input_hw]
    inputs = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    rows: List[Dict] = []
    with tempfile.TemporaryDirectory(prefix='price_components_') as work:
        torch.manual_seed(0)
        network = build_deploy_model(loaded[args.config][0], input_hw)
        networks = []
        for removed in variants(args.remove):
            model = copy.deepcopy(network)
            counts = {}
            if removed:
                try:
                    counts = remove_components(model, removed, inputs)
                except ValueError as error:
                    parser.error(f'{args.config}: {error}')
            label = ('complete' if not removed else 'without ' +
                     ' + '.join(removed))
            networks.append((label, model))
            rows.append(dict(network=label, config=args.config,
                             removed=counts))
        if args.baseline:
            torch.manual_seed(0)
            base_cfg, base_hw = loaded[args.baseline]
            networks.append(('baseline', build_deploy_model(base_cfg,
                                                            base_hw)))
            rows.append(dict(network='baseline', config=args.baseline,
                             removed={}))
        runners = []
        for i, (_, model) in enumerate(networks):
            path = osp.join(work, f'{i}.onnx')
            export_onnx(model, path, shape)
            runners.append(_runner(path, inputs.numpy(), args))
        times = interleaved_latency_ms(runners, args.warmup, args.runs)
    for row, timed in zip(rows, times):
        row.update(summarize_ms(timed))
    print(format_rows(rows, args))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(runtime=args.runtime, threads=args.threads,
                           input_shape=shape, runs=args.runs,
                           machine=describe_machine(), rows=rows),
                      f, indent=1)
            f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
