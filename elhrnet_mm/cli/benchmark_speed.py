"""Inference latency of pose model configs in eager PyTorch, ONNX Runtime
and OpenVINO, interleaved in one process, each against its baseline.

    python tools/analysis_tools/benchmark_speed.py CONFIG [CONFIG ...]
        [--backend pytorch|onnxruntime|openvino|all] [--precision f32|bf16]
        [--batch N] [--threads N] [--device cpu|cuda] [--baseline CONFIG]
        [--warmup N] [--runs N] [--no-fuse]
        [--layout nchw|channels_last|both] [--allocator system|retain]
        [--input-shape H W] [--json FILE] [--markdown FILE]
        [--pipeline IMAGE [--pipeline-boxes BOXES.json]]
    python tools/analysis_tools/benchmark_speed.py --markdown FILE
        --from-json RUN.json [RUN.json ...]

Every config (a path or ``mmpose::<path>``) and its baseline (by backbone:
MMPose's HRNet-W32 for EL-HRNet, MMPose's LiteHRNet-18 for the Lite-HRNet
family, MobilePoseNet and RTMPose; ``--baseline`` sets one for all; always
measured in the same run) is built once
(:func:`~elhrnet_mm.deploy.build_deploy_model`: the inference network, BN
statistics calibrated on rendered people), its convolution and linear MACs
counted, then fused unless ``--no-fuse``: for PyTorch into a copy per
memory layout of ``--layout``, for ONNX Runtime and OpenVINO into one ONNX
file (fixed batch) that both runtimes load (OpenVINO through an IR converted
from it, f32 inference precision set explicitly). ``--backend all`` times
all three runtimes. Then every repetition runs each (model, runtime, layout)
once, round robin with a rotating start, with the garbage collector run
between calls and disabled during them; one thread setting for all
(``--threads``). The first ``--warmup`` repetitions are not timed.

Printed (and in ``--json``): per (model, runtime, layout) the median/min/max
latency of one batch, images/s and the ratio to its baseline in the same
runtime and layout; then per model its latency in each runtime, its best
runtime, the ratio to its baseline in each runtime, best against the
baseline's best, and realized / promised = (baseline ms / model ms) /
(baseline MACs / model MACs), with the published COCO AP
(``elhrnet_mm/data/published_numbers.yaml``). ``--markdown FILE`` rewrites
the marked tables section of FILE (docs/speed.md) from this run or, with
``--from-json``, from the JSON of earlier runs (several runs: medians and
per-run ratios). ``--pipeline IMAGE`` then also times the deployed pose
pipeline (:mod:`elhrnet_mm.deploy.pipeline`: affine crop and normalisation,
the exported model, heatmap decoding) on IMAGE in each graph runtime and
prints its latency per person, as RTMPose publishes it (boxes from
``--pipeline-boxes``, else the whole image as one person; flip test as each
config's ``test_cfg``; a model whose codec the pipeline does not decode,
such as RTMPose's SimCC, is left out with a printed reason). See
docs/deployment.md and docs/speed.md.
"""
import argparse
import copy
import json
import os.path as osp
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from tqdm import tqdm

from elhrnet_mm.analysis.counters import conv_macs
from elhrnet_mm.analysis.published import config_stem
from elhrnet_mm.analysis.speed_comparison import (DEFAULT_BASELINE,
                                                  RUNTIMES,
                                                  add_ratios, baseline_of,
                                                  compare, fastest_layouts,
                                                  markdown_tables,
                                                  published_ap,
                                                  replace_marked_section)
from elhrnet_mm.deploy.config_source import load_config, load_config_at
from elhrnet_mm.deploy.deploy_metadata import write_deploy_metadata
from elhrnet_mm.deploy.cpu_allocator import (AllocatorError,
                                             retain_freed_memory)
from elhrnet_mm.deploy.fuse import fuse_for_inference
from elhrnet_mm.deploy.inference_model import build_deploy_model
from elhrnet_mm.deploy.latency import (Runner, describe_machine,
                                       interleaved_latency_ms, pytorch_runner,
                                       summarize_ms)
from elhrnet_mm.deploy.onnx_export import (MissingDeployExtraError,
                                           UnsupportedModelError,
                                           create_session, export_onnx,
                                           import_deploy_package, ort_runner)
from elhrnet_mm.deploy.openvino_runtime import (PRECISIONS,
                                                OpenVINOSettingError,
                                                compile_model,
                                                export_openvino,
                                                openvino_runner)
from elhrnet_mm.deploy.pipeline import (TopdownPosePipeline,
                                        pipeline_latency_ms)
from elhrnet_mm.deploy.pipeline_io import load_box_file, read_image
from elhrnet_mm.engine.atomic_files import write_text_atomic

#: ``--backend`` choices and the runtimes each times.
BACKENDS = {
    'pytorch': ('pytorch', ),
    'onnxruntime': ('onnxruntime', ),
    'openvino': ('openvino', ),
    'all': RUNTIMES
}
#: The packages each runtime needs (besides torch).
RUNTIME_PACKAGES = {
    'pytorch': (),
    'onnxruntime': ('onnx', 'onnxruntime'),
    'openvino': ('onnx', 'openvino')
}
DEVICES = ('cpu', 'cuda')
#: ``--layout`` choices and the memory layouts each measures (PyTorch).
LAYOUTS = {
    'nchw': ('nchw', ),
    'channels_last': ('channels_last', ),
    'both': ('nchw', 'channels_last')
}
ALLOCATORS = ('system', 'retain')


def _positive(name: str):

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < 1:
            raise argparse.ArgumentTypeError(
                f'{name} must be a positive integer (1, 2, ...), got '
                f'{text!r}')
        return value

    return parse


def parse_args(argv: Optional[Sequence[str]] = None
               ) -> Tuple[argparse.Namespace, argparse.ArgumentParser]:
    """Parse and check the command line."""
    parser = argparse.ArgumentParser(
        description='Inference latency of pose configs in eager PyTorch, '
        'ONNX Runtime and OpenVINO, interleaved in one run, each against '
        'its baseline config')
    parser.add_argument(
        'configs', nargs='*', metavar='CONFIG',
        help='config files or mmpose::<path>')
    parser.add_argument('--batch', type=_positive('--batch'), default=1,
                        help='images per forward pass. Default: 1')
    parser.add_argument('--threads', type=_positive('--threads'), default=1,
                        help='intra-op threads of every runtime. Default: 1')
    parser.add_argument('--device', default='cpu', choices=DEVICES,
                        help='Default: cpu (OpenVINO: cpu only)')
    parser.add_argument('--backend', default='pytorch', choices=BACKENDS,
                        help='the runtime(s) to time: eager PyTorch, ONNX '
                        'Runtime, OpenVINO (both from one exported ONNX '
                        'file) or all three. Default: pytorch')
    parser.add_argument('--precision', default='f32', choices=PRECISIONS,
                        help='inference precision; bf16 only with --backend '
                        'openvino on a CPU with bf16. Default: f32')
    parser.add_argument('--baseline', default=None,
                        help='one baseline config for every model, measured '
                        'in the same run. Default: by backbone (MMPose '
                        'HRNet-W32 for EL-HRNet/HRNet, MMPose LiteHRNet-18 '
                        'for the Lite-HRNet family, MobilePoseNet and '
                        f'RTMPose, else {DEFAULT_BASELINE})')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed repetitions first. Default: 3')
    parser.add_argument('--runs', type=_positive('--runs'), default=20,
                        help='timed repetitions. Default: 20')
    parser.add_argument('--no-fuse', action='store_true',
                        help='time the networks without the inference fuse '
                        'step (applied to all, baseline included, by '
                        'default)')
    parser.add_argument('--layout', default='nchw', choices=tuple(LAYOUTS),
                        help='memory layout of weights and input for eager '
                        'PyTorch (ONNX Runtime and OpenVINO plan their own); '
                        'both times every config in each layout. Default: '
                        'nchw')
    parser.add_argument('--allocator', default='system', choices=ALLOCATORS,
                        help='retain: make glibc keep freed memory for '
                        'reuse, as a caching allocator does (large batches, '
                        'docs/speed.md). Default: system (unchanged)')
    parser.add_argument(
        '--input-shape', type=_positive('--input-shape'), nargs=2,
        metavar=('H', 'W'),
        help="input height and width for every model; default: each "
        "config codec's input_size (written W, H in MMPose configs)")
    parser.add_argument('--json', metavar='FILE',
                        help='also write the results as JSON to FILE')
    parser.add_argument('--markdown', metavar='FILE',
                        help='rewrite the generated tables section of FILE '
                        '(docs/speed.md) from this run, or from --from-json')
    parser.add_argument('--from-json', nargs='+', metavar='RUN.json',
                        help='with --markdown: render these runs instead of '
                        'measuring (no CONFIG)')
    parser.add_argument('--pipeline', metavar='IMAGE',
                        help='also time the deployed pose pipeline (pre-'
                        'processing + model + decoding) on IMAGE in each '
                        'graph runtime; printed per person')
    parser.add_argument('--pipeline-boxes', metavar='BOXES.json',
                        help='with --pipeline: person boxes of IMAGE (the '
                        'pose_demo box file format); default the whole '
                        'image')
    args = parser.parse_args(argv)
    args.runtimes = BACKENDS[args.backend]
    if args.pipeline_boxes and not args.pipeline:
        parser.error('--pipeline-boxes needs --pipeline IMAGE')
    if args.pipeline:
        if args.runtimes == ('pytorch', ):
            parser.error('--pipeline runs the exported model: use --backend '
                         'onnxruntime|openvino|all')
        if args.device != 'cpu':
            parser.error('--pipeline runs on the CPU; use --device cpu')
        try:
            args.pipeline_image = read_image(args.pipeline)
            args.pipeline_bboxes = None
            if args.pipeline_boxes:
                key = osp.basename(args.pipeline)
                box_file = load_box_file(args.pipeline_boxes)
                if key not in box_file:
                    raise ValueError(
                        f'{args.pipeline_boxes} has no boxes for {key!r} '
                        f'(keys: {sorted(box_file)})')
                args.pipeline_bboxes = box_file[key]
        except (OSError, ValueError) as error:
            parser.error(f'--pipeline: {error}')
    if args.from_json:
        if not args.markdown or args.configs:
            parser.error('--from-json renders earlier runs: give --markdown '
                         'FILE and no CONFIG')
        for path in args.from_json:
            if not osp.isfile(path):
                parser.error(f'--from-json file not found: {path}')
    elif not args.configs:
        parser.error('give at least one CONFIG (or --markdown FILE '
                     '--from-json RUN.json ...)')
    if args.markdown and not osp.isfile(args.markdown):
        parser.error(f'--markdown file not found: {args.markdown}')
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device cuda: CUDA is not available to this torch '
                     f'({torch.__version__}, built with CUDA '
                     f'{torch.version.cuda}); use --device cpu')
    if args.device == 'cuda' and 'openvino' in args.runtimes:
        parser.error(f'--device cuda --backend {args.backend}: OpenVINO '
                     'runs on the CPU here; use --device cpu or --backend '
                     'pytorch|onnxruntime')
    if args.precision != 'f32' and args.runtimes != ('openvino', ):
        parser.error(f'--precision {args.precision}: only --backend '
                     'openvino takes a precision other than f32 (allowed '
                     f'with --backend {args.backend}: f32)')
    if args.json and not osp.isdir(osp.dirname(osp.abspath(args.json))):
        parser.error(f'--json directory does not exist: {args.json}')
    if args.no_fuse and args.layout != 'nchw':
        parser.error(f'--layout {args.layout} converts the network in the '
                     'fuse step; drop --no-fuse or use --layout nchw')
    if args.layout != 'nchw' and 'pytorch' not in args.runtimes:
        parser.error(f'--layout {args.layout}: only the PyTorch runtime '
                     f'takes a layout (--backend {args.backend} plans its '
                     'own; with --backend all it applies to PyTorch)')
    for runtime in args.runtimes:
        try:
            for package in RUNTIME_PACKAGES[runtime]:
                import_deploy_package(package)
        except MissingDeployExtraError as error:
            parser.error(f'--backend {args.backend}: {error}')
    if args.device == 'cuda' and 'onnxruntime' in args.runtimes:
        ort = import_deploy_package('onnxruntime')
        if 'CUDAExecutionProvider' not in ort.get_available_providers():
            parser.error(f'--device cuda --backend {args.backend}: this '
                         'onnxruntime has no CUDAExecutionProvider; install '
                         'onnxruntime-gpu')
    return args, parser


def _baselines(configs: Sequence[str], args: argparse.Namespace,
               parser: argparse.ArgumentParser) -> Dict[str, str]:
    """Each config's baseline: ``--baseline``, else by backbone type; the
    baselines are their own."""
    baselines = {}
    for config in configs:
        if args.baseline is not None:
            baselines[config] = args.baseline
            continue
        try:
            backbone = load_config(config).model.backbone.type
        except FileNotFoundError as error:
            parser.error(str(error))
        baselines[config] = baseline_of(backbone)
    for base in set(baselines.values()):
        baselines[base] = base
    return baselines


def _export(model: torch.nn.Module, shape: List[int], work_dir: str,
            tag: str) -> str:
    path = osp.join(work_dir, f'{tag}.onnx')
    export_onnx(model, path, shape)
    return path


def build_runners(config: str, args: argparse.Namespace,
                  parser: argparse.ArgumentParser, work_dir: str,
                  tag: str) -> Tuple[List[Tuple[str, str, Runner]], List[int],
                                     int, Dict[str, str]]:
    """The model of ``config`` ready to time in each runtime (and PyTorch
    layout): ``[(runtime, layout, runner)]``, its input shape, its conv
    MACs at batch 1 and the exported file of each graph runtime (with the
    pose pipeline's metadata beside it when ``--pipeline`` is given)."""
    try:
        cfg, input_hw = load_config_at(config, args.input_shape)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    shape = [args.batch, 3, *input_hw]
    inputs = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    layouts = LAYOUTS[args.layout] if 'pytorch' in args.runtimes else ()
    models = {}
    try:
        network = build_deploy_model(cfg, input_hw, fuse=False)
        macs = conv_macs(network, (1, 3, *input_hw))
        wanted = set(layouts)
        if set(args.runtimes) - {'pytorch'}:
            wanted.add('nchw')  # the exported graph
        for layout in sorted(wanted):
            model = network if args.no_fuse else fuse_for_inference(
                copy.deepcopy(network),
                channels_last=layout == 'channels_last')
            with torch.inference_mode():
                model(torch.zeros(shape))
            models[layout] = model
    except (ValueError, RuntimeError) as error:
        parser.error(f'{config} does not run at input {input_hw[0]}x'
                     f'{input_hw[1]} (--input-shape H W): {error}')
    runners = []
    for layout in layouts:
        model = models[layout].to(args.device)
        runners.append(('pytorch', layout,
                        pytorch_runner(model, inputs.to(args.device))))
    exported = set(args.runtimes) - {'pytorch'}
    if exported:
        try:
            onnx_path = _export(models['nchw'].cpu(), shape, work_dir, tag)
        except UnsupportedModelError as error:
            parser.error(f'{config}: {error}')
    array = inputs.numpy()
    files = {}
    if 'onnxruntime' in exported:
        session = create_session(onnx_path, args.threads, args.device)
        runners.append(('onnxruntime', 'nchw', ort_runner(session, array)))
        files['onnxruntime'] = onnx_path
    if 'openvino' in exported:
        xml, _ = export_openvino(onnx_path, onnx_path[:-5] + '.xml')
        files['openvino'] = xml
        try:
            compiled = compile_model(xml, args.threads, args.precision)
        except OpenVINOSettingError as error:
            parser.error(f'--backend {args.backend}: {error}')
        runners.append(('openvino', 'nchw', openvino_runner(compiled,
                                                             array)))
    if args.pipeline and files:
        try:
            write_deploy_metadata(onnx_path, cfg, input_hw=input_hw)
        except ValueError as error:
            print(f'--pipeline: {config_stem(config)} not timed: {error}',
                  file=sys.stderr)
            files = {}
    return runners, shape, macs, files


def time_pipelines(files: Dict[str, Dict[str, str]],
                   args: argparse.Namespace) -> List[Dict[str, Any]]:
    """Full-pipeline latency (pre-processing + model + decoding) of each
    config's exported model in each graph runtime, on ``--pipeline``."""
    rows = []
    for config, by_runtime in files.items():
        for runtime, path in by_runtime.items():
            pipeline = TopdownPosePipeline(path, runtime=runtime,
                                           threads=args.threads)
            ms = pipeline_latency_ms(pipeline, args.pipeline_image,
                                     args.pipeline_bboxes, runs=args.runs,
                                     warmup=args.warmup)
            rows.append(dict(config=config, name=config_stem(config),
                             runtime=runtime,
                             flip_test=pipeline.flip_test, **ms))
    return rows


def benchmark(args: argparse.Namespace,
              parser: argparse.ArgumentParser) -> Dict[str, Any]:
    """Build, time interleaved, and assemble the JSON report."""
    if args.allocator == 'retain':
        try:
            retain_freed_memory()
        except AllocatorError as error:
            parser.error(f'--allocator retain: {error}')
    torch.set_num_threads(args.threads)
    configs = list(dict.fromkeys(args.configs))
    baselines = _baselines(configs, args, parser)
    configs += [b for b in dict.fromkeys(baselines.values())
                if b not in configs]
    pairs, runners, shapes, macs, published, files = [], [], {}, {}, {}, {}
    with tempfile.TemporaryDirectory(prefix='benchmark_speed_') as work_dir:
        for index, config in enumerate(
                tqdm(configs, desc='build', file=sys.stderr)):
            built, shapes[config], macs[config], files[config] = \
                build_runners(config, args, parser, work_dir, str(index))
            published[config] = published_ap(config, shapes[config][2:])
            for runtime, layout, runner in built:
                pairs.append((config, runtime, layout))
                runners.append(runner)
        with tqdm(total=(args.warmup + args.runs) * len(runners),
                  desc='time', file=sys.stderr) as bar:
            times = interleaved_latency_ms(runners, args.warmup, args.runs,
                                           on_call=bar.update)
        pipelines = time_pipelines(files, args) if args.pipeline else None
    results = [
        dict(config=config, name=config_stem(config), runtime=runtime,
             layout=layout, input_shape=shapes[config], **summarize_ms(t))
        for (config, runtime, layout), t in zip(pairs, times)
    ]
    add_ratios(results, baselines, args.batch)
    fastest = fastest_layouts(results, baselines, args.batch)
    report = dict(
        machine=describe_machine(),
        settings=dict(
            batch=args.batch,
            threads=args.threads,
            device=args.device,
            backend=args.backend,
            runtimes=list(args.runtimes),
            precision=args.precision,
            fuse=not args.no_fuse,
            layouts=list(LAYOUTS[args.layout]),
            allocator=args.allocator,
            warmup=args.warmup,
            runs=args.runs),
        baselines=baselines,
        results=results)
    if len(LAYOUTS[args.layout]) > 1 and 'pytorch' in args.runtimes:
        report['fastest_layout'] = fastest
    report['comparison'] = compare(fastest, baselines, macs, published)
    if pipelines is not None:
        report['pipeline'] = dict(image=args.pipeline,
                                  boxes=args.pipeline_boxes,
                                  results=pipelines)
    return report


def _table(head: List[str], cells: List[List[str]]) -> List[str]:
    cells = [head] + cells
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    return ['  '.join(c.ljust(w) if i == 0 else c.rjust(w)
                      for i, (c, w) in enumerate(zip(r, widths)))
            for r in cells]


def _rows_table(rows: List[Dict[str, Any]]) -> List[str]:
    head = ['model', 'runtime', 'layout', 'input', 'median ms', 'min ms',
            'max ms', 'img/s', 'x baseline latency', 'baseline']
    return _table(head, [[
        r['name'], r['runtime'], r['layout'],
        'x'.join(map(str, r['input_shape'])), f'{r["median_ms"]:.2f}',
        f'{r["min_ms"]:.2f}', f'{r["max_ms"]:.2f}',
        f'{r["images_per_s"]:.2f}', f'{r["latency_ratio"]:.3f}',
        config_stem(r['baseline'])
    ] for r in rows])


def _comparison_table(report: Dict[str, Any]) -> List[str]:
    runtimes = report['settings']['runtimes']
    head = (['model'] + [f'{rt} ms' for rt in runtimes] +
            ['best', 'x base (' + '/'.join(runtimes) + ')',
             'best vs base best', 'conv GMACs', 'realized/promised', 'AP'])
    cells = []
    for c in report['comparison']:
        pub = c['published']
        cells.append(
            [c['name'] + (' *' if c['reference'] else '')] +
            [f"{c['runtimes'][rt]:.2f}" for rt in runtimes] +
            [c['best_runtime'],
             '/'.join(f"{c['ratio_same_runtime'][rt]:.2f}"
                      for rt in runtimes),
             f"{c['best_vs_best']:.3f}", f"{c['conv_macs'] / 1e9:.3f}",
             f"{c['realized_over_promised']:.2f}",
             '-' if pub is None else f"{pub['AP']:.1f}"])
    return _table(head, cells)


def format_report(report: Dict[str, Any]) -> str:
    """The printed tables: machine and settings, one row per (model,
    runtime, layout), then one per model across runtimes."""
    m, s = report['machine'], report['settings']
    lines = [
        f'machine: {m["cpu"]}, {m["cores"]} cores, {m["platform"]}; python '
        f'{m["python"]}, torch {m["torch"]}, onnxruntime '
        f'{m["onnxruntime"] or "not installed"}, openvino '
        f'{m["openvino"] or "not installed"}',
        f'settings: {", ".join(s["runtimes"])} on {s["device"]}, batch '
        f'{s["batch"]}, {s["threads"]} thread(s), precision '
        f'{s["precision"]}, fused: {s["fuse"]}, layouts: '
        f'{", ".join(s["layouts"])}, allocator: {s["allocator"]}, '
        f'{s["warmup"]} warm-up + {s["runs"]} timed runs, interleaved',
        'ratios: against each model\'s baseline in the same runtime and '
        'layout', ''
    ] + _rows_table(report['results'])
    if 'fastest_layout' in report:
        lines += ['', "each config's fastest layout (ratios against the "
                  "baseline's fastest):"] + _rows_table(
                      report['fastest_layout'])
    lines += [
        '', 'per model (best layout of each runtime; best vs base best: the '
        "model's best runtime against its baseline's best; realized/"
        'promised = (baseline ms / model ms) / (baseline conv MACs / model '
        'conv MACs)):'
    ] + _comparison_table(report)
    if 'pipeline' in report:
        lines += ['', f"deployed pose pipeline on {report['pipeline']['image']}"
                  ' (medians; pre-processing + model + decoding, per person '
                  'as RTMPose publishes it):'] + _table(
                      ['model', 'runtime', 'flip test', 'people',
                       'pre-process ms', 'model ms', 'decode ms', 'total ms',
                       'per person ms'],
                      [[r['name'], r['runtime'], 'on' if r['flip_test']
                        else 'off', f"{r['people']:.0f}",
                        f"{r['preprocess']:.2f}", f"{r['model']:.2f}",
                        f"{r['decode']:.2f}", f"{r['total']:.2f}",
                        f"{r['per_person']:.2f}"]
                       for r in report['pipeline']['results']])
    if any(c['reference'] for c in report['comparison']):
        lines.append(
            '* reference model (MMPose): published AP from MMPose\'s RTMPose '
            'README, trained on AIC + COCO: not an academic comparison with '
            'the papers\' COCO-only numbers')
    return '\n'.join(lines)


def render_markdown(args: argparse.Namespace,
                    parser: argparse.ArgumentParser,
                    reports: Sequence[Dict[str, Any]],
                    paths: Sequence[str]) -> None:
    with open(args.markdown) as f:
        content = f.read()
    try:
        content = replace_marked_section(
            content, markdown_tables(reports, paths), args.markdown)
    except ValueError as error:
        parser.error(f'--markdown: {error}')
    write_text_atomic(args.markdown, content)
    print(f'rewrote the tables of {args.markdown} from '
          f'{len(reports)} run(s)')


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, parser = parse_args(argv)
    if args.from_json:
        reports = []
        for path in args.from_json:
            try:
                with open(path) as f:
                    reports.append(json.load(f))
            except (OSError, json.JSONDecodeError) as error:
                parser.error(f'--from-json {path}: cannot read: {error}')
        render_markdown(args, parser, reports, args.from_json)
        return 0
    report = benchmark(args, parser)
    print(format_report(report))
    if args.json:
        write_text_atomic(args.json, json.dumps(report, indent=2) + '\n')
    if args.markdown:
        render_markdown(args, parser, [report],
                        [args.json or '(this run, not saved)'])
    return 0
