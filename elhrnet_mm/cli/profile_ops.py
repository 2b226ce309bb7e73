"""Where the time goes: per-operator and per-block time of configs' fused
networks in ONNX Runtime and OpenVINO.

    python tools/analysis_tools/profile_ops.py CONFIG [CONFIG ...]
        [--runtime onnxruntime|openvino ...] [--runs N] [--warmup N]
        [--threads N] [--batch N] [--input-shape H W] [--top N]
        [--json FILE]

Every config (a path or ``mmpose::<path>``) is built as
``benchmark_speed.py`` builds it (BN statistics calibrated, fused), exported
to ONNX (fixed batch) and run ``--warmup`` + ``--runs`` times in each
runtime with its profiler on (:mod:`elhrnet_mm.deploy.profile_ops`). Printed
per config and runtime: the sum of the nodes' own times per forward pass,
the top ``--top`` op types and the top blocks (innermost module class).
See docs/speed.md.
"""
import argparse
import json
import os.path as osp
import sys
import tempfile
from typing import Optional, Sequence

import torch

from elhrnet_mm.cli.timing_arguments import (add_timing_arguments,
                                            check_timing_arguments)
from elhrnet_mm.deploy.config_source import load_config_at
from elhrnet_mm.deploy.inference_model import build_deploy_model
from elhrnet_mm.deploy.onnx_export import export_onnx
from elhrnet_mm.deploy.profile_ops import (RUNTIMES, format_rows,
                                           profile_nodes, summarize)


def parse_args(argv: Optional[Sequence[str]] = None):
    parser = argparse.ArgumentParser(
        description='Per-operator and per-block time of fused networks in '
        'ONNX Runtime / OpenVINO')
    parser.add_argument('configs', nargs='+', metavar='CONFIG',
                        help='config files or mmpose::<path>')
    parser.add_argument('--runtime', nargs='+', default=['onnxruntime'],
                        choices=RUNTIMES,
                        help='runtimes to profile. Default: onnxruntime')
    parser.add_argument('--batch', type=int, default=1,
                        help='images per forward pass. Default: 1')
    parser.add_argument('--top', type=int, default=12,
                        help='rows of each table. Default: 12')
    add_timing_arguments(parser,
                         'also write every node time as JSON to FILE')
    args = parser.parse_args(argv)
    check_timing_arguments(parser, args, ('runs', 'threads', 'batch', 'top'),
                           args.runtime)
    return args, parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, parser = parse_args(argv)
    torch.set_num_threads(args.threads)
    report = []
    with tempfile.TemporaryDirectory(prefix='profile_ops_') as work_dir:
        for i, config in enumerate(args.configs):
            try:
                cfg, input_hw = load_config_at(config, args.input_shape)
            except (FileNotFoundError, ValueError) as error:
                parser.error(str(error))
            shape = [args.batch, 3, *input_hw]
            torch.manual_seed(0)
            model = build_deploy_model(cfg, input_hw)
            path = osp.join(work_dir, f'{i}.onnx')
            export_onnx(model, path, shape)
            inputs = torch.randn(
                shape, generator=torch.Generator().manual_seed(0)).numpy()
            for runtime in args.runtime:
                nodes = profile_nodes(runtime, path, inputs, runs=args.runs,
                                      warmup=args.warmup,
                                      threads=args.threads)
                print(f'== {config} | {runtime} | input '
                      f'{"x".join(map(str, shape))} | {args.runs} runs')
                for by in ('op_type', 'block'):
                    print(f'-- by {by}')
                    print(format_rows(summarize(nodes, by, model), args.top))
                print()
                report.append(
                    dict(config=config, runtime=runtime, input_shape=shape,
                         runs=args.runs,
                         nodes=[vars(n) for n in nodes],
                         by_op_type=summarize(nodes, 'op_type'),
                         by_block=summarize(nodes, 'block', model)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
            f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
