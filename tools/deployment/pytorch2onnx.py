"""Export a pose model config to ONNX, verify it with ONNX Runtime, time it.

    python tools/deployment/pytorch2onnx.py CONFIG [--checkpoint CKPT]
        --output FILE [--input-shape H W] [--batch N] [--dynamic-batch]
        [--verify] [--opset N] [--no-fuse] [--threads N] [--runs N]

Exports the inference network of CONFIG (a path or ``mmpose::<path>``):
backbone + neck + head, fused for inference (BN folding and the blocks'
exact rewrites; ``--no-fuse`` keeps the training-mode graph), input
``input`` (N, 3, H, W) normalised images, output ``heatmaps``. The default
size is the config codec's ``input_size`` (MMPose writes it W, H).
``--dynamic-batch`` makes N dynamic (Dite-HRNet's dynamic kernels are then
exported in their batch-independent form). ``--verify`` compares ONNX
Runtime with PyTorch on random and on rendered-person inputs at the export
batch and one more batch size when it is dynamic (fails when the max abs
difference reaches 1e-4), then times both, interleaved. Needs the deploy
extra: ``pip install "elhrnet_mm[deploy]"``. See docs/deployment.md.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from elhrnet_mm.deploy.inference_model import build_deploy_model
from elhrnet_mm.deploy.config_source import load_config
from elhrnet_mm.utils.input_size import input_hw_of
from elhrnet_mm.deploy.latency import (interleaved_latency_ms,
                                       pytorch_runner, summarize_ms)
from elhrnet_mm.deploy.onnx_export import (DEFAULT_OPSET, OPSET_RANGE,
                                           VERIFY_ATOL,
                                           MissingDeployExtraError,
                                           check_opset, create_session,
                                           export_onnx, import_deploy_package,
                                           max_abs_difference, ort_runner,
                                           verify_tolerance)
from elhrnet_mm.deploy.sample_inputs import verification_inputs

WARMUP = 2


def parse_args(argv: Optional[Sequence[str]] = None
               ) -> Tuple[argparse.Namespace, argparse.ArgumentParser]:
    """Parse and check the command line."""
    parser = argparse.ArgumentParser(
        description='Export the inference network of a pose config to ONNX '
        '(backbone + neck + head), optionally verified and timed with ONNX '
        'Runtime')
    parser.add_argument('config', help='config file or mmpose::<path>')
    parser.add_argument('--checkpoint', help='weights to export')
    parser.add_argument('--output', required=True, help='.onnx file to write')
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
        help=f'compare ONNX Runtime with PyTorch (max abs difference < '
        f'{VERIFY_ATOL:g} x max(1, max abs output)) and time both')
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
        help='threads of PyTorch and ONNX Runtime for --verify timing. '
        'Default: 1')
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
    out_dir = osp.dirname(osp.abspath(args.output))
    if not osp.isdir(out_dir):
        parser.error(f'--output directory does not exist: {out_dir}')
    try:
        import_deploy_package('onnx')
        if args.verify:
            import_deploy_package('onnxruntime')
    except MissingDeployExtraError as error:
        parser.error(str(error))
    return args, parser


def verify_batches(batch: int, dynamic: bool) -> List[int]:
    """The export batch, plus another size when the batch is dynamic."""
    return [batch, batch + 1] if dynamic else [batch]


def verify(args: argparse.Namespace, cfg: Config, model: torch.nn.Module,
           input_hw: Tuple[int, int]) -> bool:
    """Print the PyTorch/ORT differences and latencies; True when every
    difference is within :func:`verify_tolerance`."""
    height, width = input_hw
    session = create_session(args.output, threads=args.threads)
    passed = True
    for batch in verify_batches(args.batch, args.dynamic_batch):
        inputs = verification_inputs(cfg, batch, height, width)
        for name, (diff, scale) in max_abs_difference(model, session,
                                                      inputs).items():
            ok = diff < verify_tolerance(scale)
            passed &= ok
            print(f'verify batch {batch} {name:<9} max |ORT - PyTorch| = '
                  f'{diff:.3g}, tolerance {verify_tolerance(scale):.3g} '
                  f'(max |PyTorch| = {scale:.3g}): '
                  f'{"ok" if ok else "FAILED"}')
    print(f'verify: {"passed" if passed else "FAILED"}')
    x = verification_inputs(cfg, args.batch, height, width)['mannequin']
    times = interleaved_latency_ms(
        [pytorch_runner(model, x),
         ort_runner(session, x.numpy())], WARMUP, args.runs)
    torch_ms, ort_ms = (summarize_ms(t)['median_ms'] for t in times)
    print(f'latency (batch {args.batch}, {args.threads} thread(s), median of '
          f'{args.runs}): PyTorch {torch_ms:.2f} ms, ONNX Runtime '
          f'{ort_ms:.2f} ms, ORT speedup x{torch_ms / ort_ms:.2f}')
    return passed


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, parser = parse_args(argv)
    try:
        cfg = load_config(args.config)
    except FileNotFoundError as error:
        parser.error(str(error))
    input_hw = input_hw_of(cfg, args.input_shape)
    if input_hw is None:
        parser.error('the config has no codec input_size; pass '
                     '--input-shape H W')
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
    rewritten = export_onnx(
        model,
        args.output,
        shape,
        dynamic_batch=args.dynamic_batch,
        opset=args.opset)
    size_mb = os.path.getsize(args.output) / 2**20
    batch = 'dynamic' if args.dynamic_batch else 'fixed'
    print(f'exported {args.config} -> {args.output} ({size_mb:.2f} MiB, '
          f'opset {args.opset}, input {args.batch}x3x{height}x{width}, '
          f'{batch} batch, fused: {not args.no_fuse}, dynamic-kernel convs '
          f'rewritten: {rewritten})')
    if args.verify and not verify(args, cfg, model, input_hw):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
