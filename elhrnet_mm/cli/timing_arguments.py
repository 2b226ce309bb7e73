"""The options shared by the command lines that export a config's network
and time it in a graph runtime (``price_components``, ``profile_ops``):
repetitions, threads, input shape, JSON output, and their checks."""
import argparse
import os.path as osp
from typing import Sequence

from elhrnet_mm.deploy.onnx_export import (MissingDeployExtraError,
                                           import_deploy_package)


def add_timing_arguments(parser: argparse.ArgumentParser,
                         json_help: str) -> None:
    """``--runs``, ``--warmup``, ``--threads``, ``--input-shape H W`` and
    ``--json FILE``."""
    parser.add_argument('--runs', type=int, default=20,
                        help='timed forward passes. Default: 20')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed forward passes first. Default: 3')
    parser.add_argument('--threads', type=int, default=1,
                        help='intra-op threads. Default: 1')
    parser.add_argument('--input-shape', type=int, nargs=2,
                        metavar=('H', 'W'),
                        help="default: each config codec's input_size")
    parser.add_argument('--json', metavar='FILE', help=json_help)


def check_timing_arguments(parser: argparse.ArgumentParser,
                           args: argparse.Namespace,
                           positive: Sequence[str],
                           runtimes: Sequence[str]) -> None:
    """Exit through ``parser.error`` naming the option: a non-positive
    value of one of ``positive`` (option names as attributes), a negative
    ``--warmup``, a ``--json`` directory that does not exist, or a runtime
    (or onnx) that is not installed (naming the ``deploy`` extra)."""
    for name in positive:
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be a positive integer, got '
                         f'{getattr(args, name)}')
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    if args.json and not osp.isdir(osp.dirname(osp.abspath(args.json))):
        parser.error(f'--json directory does not exist: {args.json}')
    for package in ['onnx', *runtimes]:
        try:
            import_deploy_package(package)
        except MissingDeployExtraError as error:
            parser.error(str(error))
