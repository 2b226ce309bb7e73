"""Export a pose model config to ONNX (and an OpenVINO IR), verify both
against PyTorch, time them.

    python tools/deployment/pytorch2onnx.py CONFIG [--checkpoint CKPT]
        --output FILE.onnx [--openvino FILE.xml] [--input-shape H W]
        [--batch N] [--dynamic-batch] [--verify] [--opset N] [--no-fuse]
        [--threads N] [--runs N]

Exports the inference network of CONFIG (a path or ``mmpose::<path>``):
backbone + neck + head, fused for inference (BN folding and the blocks'
exact rewrites; ``--no-fuse`` keeps the training-mode graph), input
``input`` (N, 3, H, W) normalised images, output ``heatmaps`` (or
``simcc_x`` and ``simcc_y`` for a SimCC head such as RTMPose's). The default
size is the config codec's ``input_size`` (MMPose writes it W, H).
``--dynamic-batch`` makes N dynamic (Dite-HRNet's dynamic kernels are then
exported in their batch-independent form). ``--openvino`` also converts the
ONNX file to an OpenVINO IR (``.xml`` + ``.bin``, float32 weights). Files
are written atomically, each with the pipeline's metadata file beside it
(``<stem>.pose.json``). ``--verify`` compares ONNX Runtime (and OpenVINO,
f32 inference precision) with PyTorch on random and on rendered-person
inputs at the export batch and one more batch size when it is dynamic
(fails when the max abs difference reaches 1e-4 x max(1, max |output|)),
then times them all, interleaved. Needs the deploy extra: ``pip install
"elhrnet_mm[deploy]"``. See docs/deployment.md.
"""
import argparse
import functools
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from elhrnet_mm.deploy.config_source import load_config_at
from elhrnet_mm.deploy.deploy_metadata import write_deploy_metadata
from elhrnet_mm.deploy.inference_model import build_deploy_model
from elhrnet_mm.deploy.latency import (interleaved_latency_ms,
                                       pytorch_runner, summarize_ms)
from elhrnet_mm.deploy.onnx_export import (DEFAULT_OPSET, OPSET_RANGE,
                                           VERIFY_ATOL,
                                           MissingDeployExtraError, Outputs,
                                           UnsupportedModelError,
                                           check_opset, create_session,
                                           export_onnx, import_deploy_package,
                                           max_abs_difference, ort_runner,
                                           run_session, verify_tolerance)
from elhrnet_mm.deploy.openvino_runtime import (compile_model,
                                                export_openvino,
                                                openvino_runner, run_request)
from elhrnet_mm.deploy.sample_inputs import verification_inputs

WARMUP = 2


def parse_args(argv: Optional[Sequence[str]] = None
               ) -> Tuple[argparse.Namespace, argparse.ArgumentParser]:
    """Parse and check the command line."""
    parser = argparse.ArgumentParser(
        description='Export the inference network of a pose config to ONNX '
        '(backbone + neck + head) and optionally an OpenVINO IR, verified '
        'against PyTorch and timed')
    parser.add_argument('config', help='config file or mmpose::<path>')
    parser.add_argument('--checkpoint', help='weights to export')
    parser.add_argument('--output', required=True, help='.onnx file to write')
    parser.add_argument(
        '--openvino', metavar='FILE.xml',
        help='also write an OpenVINO IR (FILE.xml and FILE.bin) converted '
        'from the ONNX file')
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help="input height and width; default: the config codec's "
        'input_size (written W, H in MMPose configs)')
    parser.add_argument(
        '--batch', type=int, default=1, help='batch of the traced input '
        '(the fixed batch without --dynamic-batch). Default: 1')
    parser.add_argument(
        '--dynamic-batch',
        action='store_true',
        help='make the batch axis dynamic')
    parser.add_argument(
        '--verify',
        action='store_true',
        help=f'compare ONNX Runtime (and OpenVINO) with PyTorch (max abs '
        f'difference < {VERIFY_ATOL:g} x max(1, max abs output)) and time '
        'them')
    parser.add_argument(
        '--opset',
        type=int,
        default=DEFAULT_OPSET,
        help=f'ONNX opset, {OPSET_RANGE[0]} to {OPSET_RANGE[1]}. '
        f'Default: {DEFAULT_OPSET}')
    parser.add_argument(
        '--no-fuse',
        action='store_true',
        help='export the network without the inference fuse step')
    parser.add_argument(
        '--threads', type=int, default=1,
        help='threads of PyTorch, ONNX Runtime and OpenVINO for --verify '
        'timing. Default: 1')
    parser.add_argument(
        '--runs', type=int, default=10,
        help='timed runs of --verify (after 2 warm-up runs). Default: 10')
    args = parser.parse_args(argv)
    if args.input_shape is not None and min(args.input_shape) < 1:
        parser.error('--input-shape takes two positive integers H W, got '
                     + ' '.join(map(str, args.input_shape)))
    for name in ('batch', 'threads', 'runs'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be a positive integer, got '
                         f'{getattr(args, name)}')
    try:
        check_opset(args.opset)
    except ValueError as error:
        parser.error(f'--opset: {error}')
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        parser.error(f'--checkpoint file not found: {args.checkpoint}')
    outputs = [('--output', args.output, '.onnx')]
    if args.openvino is not None:
        outputs.append(('--openvino', args.openvino, '.xml'))
    for option, path, suffix in outputs:
        if not path.endswith(suffix):
            parser.error(f'{option} must name a {suffix} file, got {path}')
        out_dir = osp.dirname(osp.abspath(path))
        if not osp.isdir(out_dir):
            parser.error(f'{option} directory does not exist: {out_dir}')
    try:
        import_deploy_package('onnx')
        if args.verify:
            import_deploy_package('onnxruntime')
        if args.openvino is not None:
            import_deploy_package('openvino')
    except MissingDeployExtraError as error:
        parser.error(str(error))
    return args, parser


def verify_batches(batch: int, dynamic: bool) -> List[int]:
    """The export batch, plus another size when the batch is dynamic."""
    return [batch, batch + 1] if dynamic else [batch]


def verify(args: argparse.Namespace, cfg: Config, model: torch.nn.Module,
           input_hw: Tuple[int, int]) -> bool:
    """Print each runtime's differences from PyTorch and the latencies;
    True when every difference is within :func:`verify_tolerance`."""
    height, width = input_hw
    session = create_session(args.output, threads=args.threads)
    runtimes: Dict[str, Callable[[object], Outputs]] = {
        'ONNX Runtime': functools.partial(run_session, session)}
    compiled = None
    if args.openvino is not None:
        compiled = compile_model(args.openvino, threads=args.threads)
        runtimes['OpenVINO'] = functools.partial(
            run_request, compiled.create_infer_request())
    passed = True
    for runtime, run in runtimes.items():
        for batch in verify_batches(args.batch, args.dynamic_batch):
            inputs = verification_inputs(cfg, batch, height, width)
            for name, (diff, scale) in max_abs_difference(
                    model, run, inputs).items():
                ok = diff < verify_tolerance(scale)
                passed &= ok
                print(f'verify {runtime} batch {batch} {name:<9} max '
                      f'|{runtime} - PyTorch| = {diff:.3g}, tolerance '
                      f'{verify_tolerance(scale):.3g} (max |PyTorch| = '
                      f'{scale:.3g}): {"ok" if ok else "FAILED"}')
    print(f'verify: {"passed" if passed else "FAILED"}')
    x = verification_inputs(cfg, args.batch, height, width)['mannequin']
    runners = [pytorch_runner(model, x), ort_runner(session, x.numpy())]
    if compiled is not None:
        runners.append(openvino_runner(compiled, x.numpy()))
    times = interleaved_latency_ms(runners, WARMUP, args.runs)
    medians = [summarize_ms(t)['median_ms'] for t in times]
    names = ['PyTorch'] + list(runtimes)
    print(f'latency (batch {args.batch}, {args.threads} thread(s), median of '
          f'{args.runs}, interleaved): ' + ', '.join(
              f'{n} {ms:.2f} ms' for n, ms in zip(names, medians)) + '; ' +
          ', '.join(f'{n} speedup over PyTorch x{medians[0] / ms:.2f}'
                    for n, ms in zip(names[1:], medians[1:])))
    return passed


def checkpoint_dataset_meta(path: Optional[str]) -> Optional[dict]:
    """The checkpoint's ``meta['dataset_meta']`` (None without one)."""
    if path is None:
        return None
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    return (checkpoint.get('meta') or {}).get('dataset_meta')


def write_metadata(model_path: str, cfg: Config, dataset_meta: Optional[dict],
                   input_hw: Tuple[int, int]) -> None:
    """The pipeline's metadata file beside ``model_path``; a printed note
    saying why when the pipeline cannot serve this export."""
    try:
        path = write_deploy_metadata(model_path, cfg, dataset_meta, input_hw)
    except ValueError as error:
        print(f'metadata: not written beside {model_path} ({error}); the '
              'pose pipeline cannot run this export, the file itself is '
              'complete')
        return
    print(f'metadata: {path}')


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, parser = parse_args(argv)
    try:
        cfg, input_hw = load_config_at(args.config, args.input_shape)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)  # reproducible weights when there is no checkpoint
    height, width = input_hw
    shape = (args.batch, 3, height, width)
    try:  # the input-size checks, which tracing skips, run here
        model = build_deploy_model(
            cfg, input_hw, args.checkpoint, fuse=not args.no_fuse)
        with torch.inference_mode():
            model(torch.zeros(shape))
    except (ValueError, RuntimeError) as error:
        parser.error(f'the model does not run at --input-shape {height} '
                     f'{width}: {error}')
    try:
        rewritten = export_onnx(
            model,
            args.output,
            shape,
            dynamic_batch=args.dynamic_batch,
            opset=args.opset)
    except UnsupportedModelError as error:
        parser.error(str(error))
    size_mb = os.path.getsize(args.output) / 2**20
    batch = 'dynamic' if args.dynamic_batch else 'fixed'
    print(f'exported {args.config} -> {args.output} ({size_mb:.2f} MiB, '
          f'opset {args.opset}, input {args.batch}x3x{height}x{width}, '
          f'{batch} batch, fused: {not args.no_fuse}, dynamic-kernel convs '
          f'rewritten: {rewritten})')
    dataset_meta = checkpoint_dataset_meta(args.checkpoint)
    write_metadata(args.output, cfg, dataset_meta, input_hw)
    if args.openvino is not None:
        xml, bin_path = export_openvino(args.output, args.openvino)
        print(f'exported OpenVINO IR -> {xml} + {bin_path} '
              f'({os.path.getsize(bin_path) / 2**20:.2f} MiB, float32)')
        write_metadata(xml, cfg, dataset_meta, input_hw)
    if args.verify and not verify(args, cfg, model, input_hw):
        return 1
    return 0
