"""Inference latency of pose model configs in eager PyTorch, ONNX Runtime
and OpenVINO, interleaved in one process, each against its baseline.

The command line lives in :mod:`elhrnet_mm.cli.benchmark_speed` (its docstring
has the usage); ``python tools/analysis_tools/benchmark_speed.py --help`` prints the options.
"""
import sys

from elhrnet_mm.cli.benchmark_speed import main

if __name__ == '__main__':
    sys.exit(main())
