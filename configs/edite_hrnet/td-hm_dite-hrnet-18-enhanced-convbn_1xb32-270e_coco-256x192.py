# Ablation (Table 5, "+Enhance ConvBN"): Dite-HRNet-18 with Enhanced ConvBN
# in the DSC of every DMC block and in the stem's EDGC block, no EDMC.
# Training as EDite-HRNet-S.
_base_ = './td-hm_edite-hrnet-s_1xb32-270e_coco-256x192.py'

model = dict(
    backbone=dict(
        stage_block=dict(
            _delete_=True,
            type='DMCBlock',
            conv_bn_cfg=dict(type='EnhancedConvBN'))))
