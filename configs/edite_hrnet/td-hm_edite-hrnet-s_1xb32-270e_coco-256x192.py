# EDite-HRNet-S on COCO, 256x192: Rui et al., IEEE Access, Sec. IV-A.
# Stated there: Adam, lr 2e-3, one GPU, random rotation (factor 30),
# scaling (factor 0.25) and flipping, heatmaps, flip test, quarter-offset
# decoding, SimpleBaseline's person detections. Not stated, taken from
# Dite-HRNet's recipe (../dite_hrnet/): batch 32 (Dite-HRNet's per-GPU
# batch; the paper only says "as full as possible"), 270 epochs, 500
# iterations of linear warm-up, lr x0.1 at epochs 170 and 200, half-body
# augmentation (prob 0.3), sigma 2. docs/edite_hrnet.md lists these.
_base_ = '../dite_hrnet/td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py'

auto_scale_lr = dict(base_batch_size=32)  # lr 2e-3 at batch 32 (1 GPU)
model = dict(
    backbone=dict(
        type='EDiteHRNet',
        stem_block=dict(type='EDGCBlock'),
        stage_block=dict(
            type='EDMCBlock',
            mix_groups=None,  # S: depth-wise Mix
            conv_bn_cfg=dict(type='EnhancedConvBN'))))
