# Ablation (Table 5, "+Enhance ConvBN") on MPII, 256x256.
_base_ = './td-hm_edite-hrnet-s_1xb32-260e_mpii-256x256.py'

model = dict(
    backbone=dict(
        stage_block=dict(
            _delete_=True,
            type='DMCBlock',
            conv_bn_cfg=dict(type='EnhancedConvBN'))))
