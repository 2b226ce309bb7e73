# EDite-HRNet-L on COCO, 256x192: EDite-HRNet-S with "a normal
# convolution" (Sec. IV-B) where S is depth-wise: a dense 3x3 Mix in every
# EDMC block and a dense first conv in every GhostModuleV2 DFC branch
# (stage blocks and EDGC stem; GhostNetV2's own DFC conv is dense). Torchstat
# count 1.844 G at 256x192 (paper: 8.8M, 1.8),
# in units of 2^30.
# The 6.95M reading (dense Mix only, depth-wise DFC convs;
# docs/edite_hrnet.md):
# --cfg-options model.backbone.stem_block.conv_bn_cfgs=None
#     model.backbone.stage_block.conv_bn_cfg.dfc_grouping=inherit
_base_ = './td-hm_edite-hrnet-s_1xb32-270e_coco-256x192.py'

model = dict(
    backbone=dict(
        stem_block=dict(conv_bn_cfgs={
            position: dict(type='EnhancedConvBN', dfc_grouping='dense')
            for position in ('branch1.dw', 'branch2.dw')
        }),
        stage_block=dict(
            mix_groups=1, conv_bn_cfg=dict(dfc_grouping='dense'))))
