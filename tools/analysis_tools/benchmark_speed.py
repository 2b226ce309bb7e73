"""Inference latency of pose model configs, interleaved in one process.

    python tools/analysis_tools/benchmark_speed.py CONFIG [CONFIG ...]
        [--batch N] [--threads N] [--device cpu|cuda]
        [--backend pytorch|onnxruntime] [--baseline CONFIG] [--warmup N]
        [--runs N] [--no-fuse] [--channels-last] [--input-shape H W]
        [--json FILE]

Every config (a path or ``mmpose::<path>``) and the baseline (default
MMPose's HRNet-W32 256x192, always measured in the same run) is built first
(:func:`~elhrnet_mm.deploy.build_deploy_model`: the inference
network, BN statistics calibrated on rendered people, fused unless
``--no-fuse``; for ``--backend onnxruntime`` also exported to ONNX and
loaded in a session). Then every repetition runs each model once, round
robin with a rotating start, with the garbage collector run between calls
and disabled during them; one thread setting for all (``--threads``, for
PyTorch and ONNX Runtime). The first ``--warmup`` repetitions are not
timed. Reported per model: median/min/max latency of one batch, images/s
(batch x 1000 / median ms), the latency ratio to the baseline (>1 = slower)
and the speedup over it. The input is each config codec's ``input_size``
unless ``--input-shape`` sets one for all. See docs/deployment.md.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from tqdm import tqdm

from elhrnet_mm.deploy.inference_model import build_deploy_model
from elhrnet_mm.deploy.config_source import load_config
from elhrnet_mm.utils.input_size import input_hw_of
from elhrnet_mm.deploy.latency import (Runner, describe_machine,
                                       interleaved_latency_ms, pytorch_runner,
                                       summarize_ms)
from elhrnet_mm.deploy.onnx_export import (MissingDeployExtraError,
                                           create_session, export_onnx,
                                           import_deploy_package, ort_runner)
from elhrnet_mm.published import config_stem
from elhrnet_mm.utils.complexity import HRNET_W32_CONFIG

DEFAULT_BASELINE = f'mmpose::{HRNET_W32_CONFIG}'
BACKENDS = ('pytorch', 'onnxruntime')
DEVICES = ('cpu', 'cuda')


def parse_args(argv: Optional[Sequence[str]] = None
               ) -> Tuple[argparse.Namespace, argparse.ArgumentParser]:
    """Parse and check the command line."""
    parser = argparse.ArgumentParser(
        description='Inference latency of pose configs, interleaved in one '
        'run, with the ratio to a baseline config')
    parser.add_argument(
        'configs', nargs='+', metavar='CONFIG',
        help='config files or mmpose::<path>')
    parser.add_argument('--batch', type=int, default=1,
                        help='images per forward pass. Default: 1')
    parser.add_argument('--threads', type=int, default=1,
                        help='intra-op threads of PyTorch and ONNX Runtime. '
                        'Default: 1')
    parser.add_argument('--device', default='cpu', choices=DEVICES,
                        help='Default: cpu')
    parser.add_argument('--backend', default='pytorch', choices=BACKENDS,
                        help='PyTorch eager or ONNX Runtime (the model is '
                        'exported first). Default: pytorch')
    parser.add_argument('--baseline', default=DEFAULT_BASELINE,
                        help='config the ratios refer to, measured in the '
                        f'same run. Default: {DEFAULT_BASELINE}')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed repetitions first. Default: 3')
    parser.add_argument('--runs', type=int, default=20,
                        help='timed repetitions. Default: 20')
    parser.add_argument('--no-fuse', action='store_true',
                        help='time the networks without the inference fuse '
                        'step (applied to all, baseline included, by '
                        'default)')
    parser.add_argument('--channels-last', action='store_true',
                        help='fuse with torch.channels_last weights and '
                        'input (PyTorch backend; faster for some networks, '
                        'slower for others, docs/speed.md)')
    parser.add_argument(
        '--input-shape', type=int, nargs=2, metavar=('H', 'W'),
        help="input height and width for every model; default: each "
        "config codec's input_size (written W, H in MMPose configs)")
    parser.add_argument('--json', metavar='FILE',
                        help='also write the results as JSON to FILE')
    args = parser.parse_args(argv)
    for name in ('batch', 'threads', 'runs'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be a positive integer, got '
                         f'{getattr(args, name)}')
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    if args.input_shape is not None and min(args.input_shape) < 1:
        parser.error('--input-shape takes two positive integers H W, got '
                     + ' '.join(map(str, args.input_shape)))
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device cuda: CUDA is not available to this torch '
                     f'({torch.__version__}, built with CUDA '
                     f'{torch.version.cuda}); use --device cpu')
    if args.json and not osp.isdir(osp.dirname(osp.abspath(args.json))):
        parser.error(f'--json directory does not exist: {args.json}')
    if args.backend == 'onnxruntime':
        try:
            import_deploy_package('onnx')
            ort = import_deploy_package('onnxruntime')
        except MissingDeployExtraError as error:
            parser.error(f'--backend onnxruntime: {error}')
        if (args.device == 'cuda' and 'CUDAExecutionProvider'
                not in ort.get_available_providers()):
            parser.error('--device cuda --backend onnxruntime: this '
                         'onnxruntime has no CUDAExecutionProvider; install '
                         'onnxruntime-gpu')
    return args, parser


def measured_configs(args: argparse.Namespace) -> List[str]:
    """The configs in the order given, then the baseline if not among
    them."""
    configs = list(dict.fromkeys(args.configs))
    if args.baseline not in configs:
        configs.append(args.baseline)
    return configs


def build_runner(config: str, args: argparse.Namespace,
                 parser: argparse.ArgumentParser,
                 work_dir: str) -> Tuple[Runner, List[int]]:
    """The model of ``config`` ready to time, and its input shape."""
    try:
        cfg = load_config(config)
    except FileNotFoundError as error:
        parser.error(str(error))
    input_hw = input_hw_of(cfg, args.input_shape)
    if input_hw is None:
        parser.error(f'{config} has no codec input_size; pass '
                     '--input-shape H W')
    shape = [args.batch, 3, *input_hw]
    torch.manual_seed(0)
    try:
        model = build_deploy_model(
            cfg,
            input_hw,
            fuse=not args.no_fuse,
            channels_last=args.channels_last)
        with torch.inference_mode():
            model(torch.zeros(shape))
    except (ValueError, RuntimeError) as error:
        parser.error(f'{config} does not run at input {input_hw[0]}x'
                     f'{input_hw[1]} (--input-shape H W): {error}')
    inputs = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    if args.backend == 'onnxruntime':
        path = osp.join(work_dir, f'{len(os.listdir(work_dir))}.onnx')
        export_onnx(model, path, shape)
        session = create_session(path, args.threads, args.device)
        return ort_runner(session, inputs.numpy()), shape
    model.to(args.device)
    return pytorch_runner(model, inputs.to(args.device)), shape


def benchmark(args: argparse.Namespace,
              parser: argparse.ArgumentParser) -> Dict[str, Any]:
    """Build, time interleaved, and assemble the JSON report."""
    torch.set_num_threads(args.threads)
    configs = measured_configs(args)
    runners, shapes = [], []
    with tempfile.TemporaryDirectory(prefix='benchmark_speed_') as work_dir:
        for config in tqdm(configs, desc='build', file=sys.stderr):
            runner, shape = build_runner(config, args, parser, work_dir)
            runners.append(runner)
            shapes.append(shape)
        with tqdm(total=(args.warmup + args.runs) * len(runners),
                  desc='time', file=sys.stderr) as bar:
            times = interleaved_latency_ms(runners, args.warmup, args.runs,
                                           on_call=bar.update)
    stats = [summarize_ms(t) for t in times]
    base = stats[configs.index(args.baseline)]['median_ms']
    results = []
    for config, shape, stat in zip(configs, shapes, stats):
        results.append(
            dict(
                config=config,
                name=config_stem(config),
                input_shape=shape,
                **stat,
                images_per_s=args.batch * 1000.0 / stat['median_ms'],
                latency_ratio=stat['median_ms'] / base,
                speedup=base / stat['median_ms']))
    machine = describe_machine()
    return dict(
        machine=machine,
        settings=dict(
            batch=args.batch,
            threads=args.threads,
            device=args.device,
            backend=args.backend,
            fuse=not args.no_fuse,
            channels_last=args.channels_last,
            warmup=args.warmup,
            runs=args.runs),
        baseline=args.baseline,
        results=results)


def format_report(report: Dict[str, Any]) -> str:
    """The printed table: machine and settings, then one row per model."""
    m, s = report['machine'], report['settings']
    lines = [
        f'machine: {m["cpu"]}, {m["cores"]} cores, {m["platform"]}; python '
        f'{m["python"]}, torch {m["torch"]}, onnxruntime '
        f'{m["onnxruntime"] or "not installed"}',
        f'settings: {s["backend"]} on {s["device"]}, batch {s["batch"]}, '
        f'{s["threads"]} thread(s), fused: {s["fuse"]}, channels_last: '
        f'{s["channels_last"]}, {s["warmup"]} '
        f'warm-up + {s["runs"]} timed runs, interleaved',
        f'baseline: {report["baseline"]}', ''
    ]
    head = ['model', 'input', 'median ms', 'min ms', 'max ms', 'img/s',
            'x baseline latency', 'speedup']
    rows = [head] + [[
        r['name'], 'x'.join(map(str, r['input_shape'])),
        f'{r["median_ms"]:.2f}', f'{r["min_ms"]:.2f}', f'{r["max_ms"]:.2f}',
        f'{r["images_per_s"]:.2f}', f'{r["latency_ratio"]:.3f}',
        f'{r["speedup"]:.2f}'
    ] for r in report['results']]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines += ['  '.join(c.rjust(w) if i else c.ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths)))
              for r in rows]
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, parser = parse_args(argv)
    report = benchmark(args, parser)
    print(format_report(report))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=2)
            f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
