"""Speed and AP of pose NMS methods: MobilePoseNet Table 7's comparison.

The command line lives in :mod:`elhrnet_mm.cli.benchmark_nms` (its docstring
has the usage); ``python tools/analysis_tools/benchmark_nms.py --help`` prints the options.
"""
from elhrnet_mm.cli.benchmark_nms import main

if __name__ == '__main__':
    main()
