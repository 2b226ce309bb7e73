"""Inference latency of pose model configs, interleaved in one process.

    python tools/analysis_tools/benchmark_speed.py CONFIG [CONFIG ...]
        [--batch N] [--threads N] [--device cpu|cuda]
        [--backend pytorch|onnxruntime] [--baseline CONFIG] [--warmup N]
        [--runs N] [--no-fuse] [--layout nchw|channels_last|both]
        [--allocator system|retain] [--input-shape H W] [--json FILE]

Every config (a path or ``mmpose::<path>``) and the baseline (default
MMPose's HRNet-W32 256x192, always measured in the same run) is built first
(:func:`~elhrnet_mm.deploy.build_deploy_model`: the inference
network, BN statistics calibrated on rendered people) once, then fused
unless ``--no-fuse`` into a copy for each memory layout of ``--layout``
(``both``: NCHW and channels_last, two models per config with the same
weights); for ``--backend onnxruntime`` also exported to ONNX and loaded in
a session. Then every repetition runs each
model once, round robin with a rotating start, with the garbage collector
run between calls and disabled during them; one thread setting for all
(``--threads``, for PyTorch and ONNX Runtime). The first ``--warmup``
repetitions are not timed. Reported per model and layout: median/min/max
latency of one batch, images/s (batch x 1000 / median ms), the latency ratio
to the baseline in the same layout (>1 = slower) and the speedup over it;
with several layouts also each config's fastest layout against the
baseline's fastest. ``--allocator retain`` first makes glibc keep freed
memory for reuse (:func:`~elhrnet_mm.deploy.retain_freed_memory`), as a
caching allocator would. The input is each config codec's ``input_size``
unless ``--input-shape`` sets one for all. See docs/deployment.md.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from tqdm import tqdm

from elhrnet_mm.deploy.config_source import load_config
from elhrnet_mm.deploy.cpu_allocator import (AllocatorError,
                                             retain_freed_memory)
from elhrnet_mm.deploy.fuse import fuse_for_inference
from elhrnet_mm.deploy.inference_model import build_deploy_model
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
#: ``--layout`` choices and the memory layouts each measures.
LAYOUTS = {
    'nchw': ('nchw', ),
    'channels_last': ('channels_last', ),
    'both': ('nchw', 'channels_last')
}
ALLOCATORS = ('system', 'retain')


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
    parser.add_argument('--layout', default='nchw', choices=tuple(LAYOUTS),
                        help='memory layout of weights and input (PyTorch '
                        'backend): channels_last is faster for some '
                        'networks, slower for others (docs/speed.md); both '
                        'times every config in each layout. Default: nchw')
    parser.add_argument('--allocator', default='system', choices=ALLOCATORS,
                        help='retain: make glibc keep freed memory for '
                        'reuse, as a caching allocator does (large batches, '
                        'docs/speed.md). Default: system (unchanged)')
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
    if args.no_fuse and args.layout != 'nchw':
        parser.error(f'--layout {args.layout} converts the network in the '
                     'fuse step; drop --no-fuse or use --layout nchw')
    if args.backend == 'onnxruntime' and args.layout != 'nchw':
        parser.error(f'--layout {args.layout}: only the PyTorch backend '
                     'takes a layout (ONNX Runtime plans its own)')
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


def build_runners(config: str, layouts: Sequence[str],
                  args: argparse.Namespace, parser: argparse.ArgumentParser,
                  work_dir: str) -> Tuple[List[Runner], List[int]]:
    """The model of ``config`` ready to time in each of ``layouts`` (one
    network, BN calibrated once, fused into a copy per layout), and its
    input shape."""
    try:
        cfg = load_config(config)
    except FileNotFoundError as error:
        parser.error(str(error))
    input_hw = input_hw_of(cfg, args.input_shape)
    if input_hw is None:
        parser.error(f'{config} has no codec input_size; pass '
                     '--input-shape H W')
    shape = [args.batch, 3, *input_hw]
    inputs = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    models = []
    try:
        network = build_deploy_model(cfg, input_hw, fuse=False)
        for layout in layouts:
            model = network if args.no_fuse else fuse_for_inference(
                copy.deepcopy(network),
                channels_last=layout == 'channels_last')
            with torch.inference_mode():
                model(torch.zeros(shape))
            models.append(model)
    except (ValueError, RuntimeError) as error:
        parser.error(f'{config} does not run at input {input_hw[0]}x'
                     f'{input_hw[1]} (--input-shape H W): {error}')
    runners = []
    for model in models:
        if args.backend == 'onnxruntime':
            path = osp.join(work_dir, f'{len(os.listdir(work_dir))}.onnx')
            export_onnx(model, path, shape)
            session = create_session(path, args.threads, args.device)
            runners.append(ort_runner(session, inputs.numpy()))
        else:
            model.to(args.device)
            runners.append(pytorch_runner(model, inputs.to(args.device)))
    return runners, shape


def benchmark(args: argparse.Namespace,
              parser: argparse.ArgumentParser) -> Dict[str, Any]:
    """Build, time interleaved, and assemble the JSON report."""
    if args.allocator == 'retain':
        try:
            retain_freed_memory()
        except AllocatorError as error:
            parser.error(f'--allocator retain: {error}')
    torch.set_num_threads(args.threads)
    configs = measured_configs(args)
    layouts = LAYOUTS[args.layout]
    models = [(c, layout) for c in configs for layout in layouts]
    runners, shapes = [], []
    with tempfile.TemporaryDirectory(prefix='benchmark_speed_') as work_dir:
        for config in tqdm(configs, desc='build', file=sys.stderr):
            config_runners, shape = build_runners(config, layouts, args,
                                                  parser, work_dir)
            runners += config_runners
            shapes += [shape] * len(layouts)
        with tqdm(total=(args.warmup + args.runs) * len(runners),
                  desc='time', file=sys.stderr) as bar:
            times = interleaved_latency_ms(runners, args.warmup, args.runs,
                                           on_call=bar.update)
    results = []
    for (config, layout), shape, t in zip(models, shapes, times):
        results.append(
            dict(
                config=config,
                name=config_stem(config),
                layout=layout,
                input_shape=shape,
                **summarize_ms(t)))
    report = dict(
        machine=describe_machine(),
        settings=dict(
            batch=args.batch,
            threads=args.threads,
            device=args.device,
            backend=args.backend,
            fuse=not args.no_fuse,
            layouts=list(layouts),
            allocator=args.allocator,
            warmup=args.warmup,
            runs=args.runs),
        baseline=args.baseline,
        results=results)
    for r in results:
        base = next(b for b in results if b['config'] == args.baseline
                    and b['layout'] == r['layout'])
        _add_ratios(r, base['median_ms'], args.batch)
    if len(layouts) > 1:
        report['fastest_layout'] = fastest_layouts(results, args.baseline,
                                                   args.batch)
    return report


def _add_ratios(row: Dict[str, Any], base_ms: float, batch: int) -> None:
    row.update(
        images_per_s=batch * 1000.0 / row['median_ms'],
        latency_ratio=row['median_ms'] / base_ms,
        speedup=base_ms / row['median_ms'])


def fastest_layouts(results: List[Dict[str, Any]], baseline: str,
                    batch: int) -> List[Dict[str, Any]]:
    """Per config, its row of the fastest layout (median), with the ratios
    recomputed against the baseline's fastest layout."""
    fastest = {}
    for r in results:
        if r['config'] not in fastest or \
                r['median_ms'] < fastest[r['config']]['median_ms']:
            fastest[r['config']] = r
    base_ms = fastest[baseline]['median_ms']
    rows = []
    for r in fastest.values():
        row = {k: r[k] for k in ('config', 'name', 'layout', 'input_shape',
                                 'median_ms', 'min_ms', 'max_ms')}
        _add_ratios(row, base_ms, batch)
        rows.append(row)
    return rows


def _table(rows: List[Dict[str, Any]]) -> List[str]:
    head = ['model', 'layout', 'input', 'median ms', 'min ms', 'max ms',
            'img/s', 'x baseline latency', 'speedup']
    cells = [head] + [[
        r['name'], r['layout'], 'x'.join(map(str, r['input_shape'])),
        f'{r["median_ms"]:.2f}', f'{r["min_ms"]:.2f}', f'{r["max_ms"]:.2f}',
        f'{r["images_per_s"]:.2f}', f'{r["latency_ratio"]:.3f}',
        f'{r["speedup"]:.2f}'
    ] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    return ['  '.join(c.rjust(w) if i > 1 else c.ljust(w)
                      for i, (c, w) in enumerate(zip(r, widths)))
            for r in cells]


def format_report(report: Dict[str, Any]) -> str:
    """The printed tables: machine and settings, one row per model and
    layout, and with several layouts each config's fastest."""
    m, s = report['machine'], report['settings']
    lines = [
        f'machine: {m["cpu"]}, {m["cores"]} cores, {m["platform"]}; python '
        f'{m["python"]}, torch {m["torch"]}, onnxruntime '
        f'{m["onnxruntime"] or "not installed"}',
        f'settings: {s["backend"]} on {s["device"]}, batch {s["batch"]}, '
        f'{s["threads"]} thread(s), fused: {s["fuse"]}, layouts: '
        f'{", ".join(s["layouts"])}, allocator: {s["allocator"]}, '
        f'{s["warmup"]} warm-up + {s["runs"]} timed runs, interleaved',
        f'baseline: {report["baseline"]} (ratios against it in the same '
        'layout)', ''
    ] + _table(report['results'])
    if 'fastest_layout' in report:
        lines += ['', "each config's fastest layout (ratios against the "
                  "baseline's fastest):"] + _table(report['fastest_layout'])
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
