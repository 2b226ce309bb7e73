"""What components of a fused network cost in ONNX Runtime / OpenVINO: the
network timed beside copies of it without them (not exact; for pricing
only).

The command line lives in :mod:`elhrnet_mm.cli.price_components` (its
docstring has the usage); ``python tools/analysis_tools/price_components.py
--help`` prints the options.
"""
import sys

from elhrnet_mm.cli.price_components import main

if __name__ == '__main__':
    sys.exit(main())
