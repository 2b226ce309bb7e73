# CBAM-LiteHRNet-30 on MPII, 256x256: MMPose's Lite-HRNet-30 MPII recipe
# with the CBAM backbone (docs/cbam_litehrnet.md).
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/'
    'mpii/td-hm_litehrnet-30_8xb64-210e_mpii-256x256.py',
    '../_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=_base_.atomic_checkpoint_hook)
custom_hooks = _base_.custom_hooks + _base_.elhrnet_custom_hooks

# CBAMLiteHRNet's defaults: a CBAM (r = 16) on each branch's pooled features
# before the 1x1 layers of every cross-resolution weighting unit
# (cbam_position='pooled', cbam_blocks='all'); docs/cbam_litehrnet.md.
model = dict(backbone=dict(type='CBAMLiteHRNet'))
