# MobilePoseNet on COCO, 256x192, with the lightweight upsampling block as
# the paper's text describes it (Sec. 3.1, Fig. 3(b)): pointwise expand,
# depthwise transposed conv, pointwise projection back to the block's input
# width, then SENet attention (reduction 16, as in SENet) on the block's
# output, fused by multiply-and-add. The expansion (x5 of the input width)
# is the default config's. Same encoder, training and evaluation as
# td-hm_mobileposenet_1xb32-210e_coco-256x192.py, whose fitted decoder
# (SE on the expanded features, ratio 4, 128-channel projection) stays the
# default: only it comes near the published 1.5M params
# (docs/mobileposenet.md compares both).
_base_ = './td-hm_mobileposenet_1xb32-210e_coco-256x192.py'

model = dict(
    neck=dict(
        out_channels=(112, 112),  # each block projects back to C4's 112
        block_cfg=dict(se_position='output', se_ratio=16)),
    head=dict(in_channels=112))
