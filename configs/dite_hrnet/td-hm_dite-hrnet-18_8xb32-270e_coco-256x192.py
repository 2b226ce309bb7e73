# Dite-HRNet-18 on COCO, 256x192: Li et al., IJCAI 2022, with the official
# repository's recipe (configs/top_down/dite_hrnet/coco/
# ditehrnet_18_coco_256x192.py): Adam lr 2e-3, batch 32 x 8 GPUs, linear
# warm-up over 500 iterations (ratio 0.001), lr x0.1 at epochs 170 and 200,
# 270 epochs, flip, half-body (prob 0.3), rotation factor 30, scale factor
# 0.25, sigma 2, person detections with 56.4 AP for validation.
# The data settings are MMPose's Lite-HRNet-18 config.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py',
    '../_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=_base_.atomic_checkpoint_hook)
custom_hooks = _base_.custom_hooks + _base_.elhrnet_custom_hooks

train_cfg = dict(max_epochs=270, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001,
        by_epoch=False),  # warm-up
    dict(
        type='MultiStepLR',
        begin=0,
        end=270,
        milestones=[170, 200],
        gamma=0.1,
        by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=256)

model = dict(
    backbone=dict(
        _delete_=True,
        type='DiteHRNet',
        in_channels=3,
        extra=dict(
            stem=dict(stem_channels=32, out_channels=32),
            num_stages=3,
            stages_spec=dict(
                num_modules=(2, 4, 2),
                num_branches=(2, 3, 4),
                num_blocks=(2, 2, 2),
                with_fuse=(True, True, True),
                num_channels=(
                    (40, 80),
                    (40, 80, 160),
                    (40, 80, 160, 320),
                )),
            with_head=True)))

codec = dict(
    type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(
        type='RandomBBoxTransform',
        shift_prob=0,
        rotate_factor=30,
        scale_factor=(0.75, 1.25)),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
# drop_last: the attention MLPs normalise 1x1 maps with BatchNorm, which
# cannot train on a last batch of a single sample
train_dataloader = dict(
    batch_size=32, drop_last=True, dataset=dict(pipeline=train_pipeline))
