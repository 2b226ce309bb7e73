# CBAM-LiteHRNet-18 with branch widths 48/96/192/384 (Table I's "number of
# channels is 48" row; the paper gives that row at 384x288). Depth and stem
# are Lite-HRNet-18's; every branch is 1.2x wider, the highest-resolution
# branch 48 like HRNet-W48's (docs/cbam_litehrnet.md, "Width 48").
_base_ = './td-hm_cbam-litehrnet-18_8xb32-210e_coco-384x288.py'

model = dict(
    backbone=dict(
        extra=dict(
            stages_spec=dict(num_channels=(
                (48, 96),
                (48, 96, 192),
                (48, 96, 192, 384),
            )))),
    head=dict(in_channels=48))
