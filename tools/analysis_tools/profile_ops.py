"""Where the time goes: per-operator and per-block time of configs' fused
networks in ONNX Runtime and OpenVINO.

The command line lives in :mod:`elhrnet_mm.cli.profile_ops` (its docstring
has the usage); ``python tools/analysis_tools/profile_ops.py --help`` prints
the options.
"""
import sys

from elhrnet_mm.cli.profile_ops import main

if __name__ == '__main__':
    sys.exit(main())
