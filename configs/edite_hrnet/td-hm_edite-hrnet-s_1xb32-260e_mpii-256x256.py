# EDite-HRNet-S on MPII, 256x256: the paper's COCO training (Adam 2e-3,
# rotation 30, scale 0.25, flip) with Dite-HRNet's MPII settings for what
# it leaves out (260 epochs, batch 32, no half-body, ground-truth boxes).
_base_ = '../dite_hrnet/td-hm_dite-hrnet-18_8xb32-260e_mpii-256x256.py'

auto_scale_lr = dict(base_batch_size=32)
model = dict(
    backbone=dict(
        type='EDiteHRNet',
        stem_block=dict(type='EDGCBlock'),
        stage_block=dict(
            type='EDMCBlock',
            mix_groups=None,  # S: depth-wise Mix
            conv_bn_cfg=dict(type='EnhancedConvBN'))))
