"""Keypoints of the people in images, a video or a webcam, from an exported
model in ONNX Runtime or OpenVINO (no PyTorch/MMPose inference).

The command line lives in :mod:`elhrnet_mm.cli.pose_demo` (its docstring
has the usage); ``python tools/deployment/pose_demo.py --help`` prints the options.
"""
import sys
import warnings

from elhrnet_mm.cli.pose_demo import main

if __name__ == '__main__':
    with warnings.catch_warnings():
        warnings.simplefilter('default')
        sys.exit(main())
