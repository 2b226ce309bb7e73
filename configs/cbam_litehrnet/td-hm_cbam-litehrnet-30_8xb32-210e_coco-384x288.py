# CBAM-LiteHRNet-30 on COCO, 384x288: MMPose's Lite-HRNet-30 recipe (Adam
# 5e-4, 8 x 32 images, 210 epochs, x0.1 at 170/200) with the CBAM backbone.
# The paper's own training paragraph does not describe pose training
# (docs/cbam_litehrnet.md, "Training").
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/'
    'coco/td-hm_litehrnet-30_8xb32-210e_coco-384x288.py',
    '../_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=_base_.atomic_checkpoint_hook)
custom_hooks = _base_.custom_hooks + _base_.elhrnet_custom_hooks

# CBAMLiteHRNet's defaults: a CBAM (r = 16) on each branch's pooled features
# before the 1x1 layers of every cross-resolution weighting unit
# (cbam_position='pooled', cbam_blocks='all'); docs/cbam_litehrnet.md.
model = dict(backbone=dict(type='CBAMLiteHRNet'))
