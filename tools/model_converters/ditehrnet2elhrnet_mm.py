"""Convert an official Dite-HRNet checkpoint (MMPose 0.x) for elhrnet_mm.

    python tools/model_converters/ditehrnet2elhrnet_mm.py IN OUT [--config CFG]

IN is a checkpoint released by the Dite-HRNet authors (linked from issue #3
of https://github.com/ZiyiZhang27/Dite-HRNet): an MMPose 0.x ``TopDown``
model with ``backbone.*`` and ``keypoint_head.*`` tensors. OUT is written
for our ``DiteHRNet`` configs (``backbone.*``, ``head.*``; MMPose 1.x), by
default the shipped config of the checkpoint's depth (18 or 30) and
keypoint count (17: COCO, 16: MPII); ``--config`` checks it against another
one. OUT is written only if every tensor maps (temp file, then rename);
otherwise the error names IN and lists the keys that do not fit. The
mapping is ``elhrnet_mm.convert.ditehrnet_official``.
"""
import argparse
import pickle
import sys

from elhrnet_mm.convert.ditehrnet_official import (ConversionError,
                                                   convert_checkpoint)
from elhrnet_mm.utils.checkpoint_safety import CorruptCheckpointError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description='Convert an official Dite-HRNet (MMPose 0.x) checkpoint '
        "to elhrnet_mm's DiteHRNet (MMPose 1.x)")
    parser.add_argument('src', metavar='IN', help='official checkpoint')
    parser.add_argument('dst', metavar='OUT', help='converted checkpoint')
    parser.add_argument(
        '--config',
        help='our config the weights must fit (default: the shipped '
        'Dite-HRNet config of the same depth and keypoint count)')
    args = parser.parse_args(argv)
    try:
        report = convert_checkpoint(args.src, args.dst, config=args.config)
    except (ConversionError, CorruptCheckpointError, OSError,
            pickle.UnpicklingError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f"Dite-HRNet-{report['depth']}, {report['keypoints']} keypoints: "
          f"{report['tensors']} tensors written to {args.dst} "
          f"(checked against {report['config']})")
    dropped = report['dropped']
    print(f'dropped {len(dropped)} tensors: the official '
          "DenseContextModeling's conv_mask of its last branch, which its "
          'forward never uses (our DCM does not build it):')
    for key in dropped:
        print(f'  {key}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
