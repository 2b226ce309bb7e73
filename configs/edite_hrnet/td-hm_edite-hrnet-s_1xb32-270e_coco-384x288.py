# EDite-HRNet-S on COCO, 384x288: the 256x192 recipe (see
# td-hm_edite-hrnet-s_1xb32-270e_coco-256x192.py) with Dite-HRNet's
# 384x288 data settings (heatmaps 96x72, sigma 3).
_base_ = '../dite_hrnet/td-hm_dite-hrnet-18_8xb32-270e_coco-384x288.py'

auto_scale_lr = dict(base_batch_size=32)
model = dict(
    backbone=dict(
        type='EDiteHRNet',
        stem_block=dict(type='EDGCBlock'),
        stage_block=dict(
            type='EDMCBlock',
            mix_groups=None,  # S: depth-wise Mix
            conv_bn_cfg=dict(type='EnhancedConvBN'))))
