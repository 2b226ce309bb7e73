"""Export a pose model config to ONNX (and an OpenVINO IR), verify both
against PyTorch, time them.

The command line lives in :mod:`elhrnet_mm.cli.pytorch2onnx` (its docstring
has the usage); ``python tools/deployment/pytorch2onnx.py --help`` prints the options.
"""
import sys

from elhrnet_mm.cli.pytorch2onnx import main

if __name__ == '__main__':
    sys.exit(main())
