# EDite-HRNet-S on CrowdPose, 256x192 (Table 4): trainval -> test,
# 14 keypoints, EDite-HRNet's COCO recipe.
_base_ = './td-hm_dite-hrnet-18_1xb32-270e_crowdpose-256x192.py'

model = dict(
    backbone=dict(
        type='EDiteHRNet',
        stem_block=dict(type='EDGCBlock'),
        stage_block=dict(
            type='EDMCBlock',
            mix_groups=None,  # S: depth-wise Mix
            conv_bn_cfg=dict(type='EnhancedConvBN'))))
