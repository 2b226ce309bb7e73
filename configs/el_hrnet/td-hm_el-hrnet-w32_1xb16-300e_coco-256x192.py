# EL-HRNet-W32 on COCO, 256x192: Li et al., Sensors 2024, 24, 396, Sec. 3.2.
# MMPose's own HRNet-W32 config with the LA-Basicblock backbone and the
# paper's training: Adam lr 1e-3, batch 16, 300 epochs, lr x0.1 at
# 120/170/200/260, rotation +-45 deg, scale 0.65-1.35, flip, MSE, sigma 2.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
    '../_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=_base_.atomic_checkpoint_hook)
custom_hooks = _base_.custom_hooks + _base_.elhrnet_custom_hooks

train_cfg = dict(max_epochs=300, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001,
        by_epoch=False),  # warm-up, as MMPose's HRNet recipe
    dict(
        type='MultiStepLR',
        begin=0,
        end=300,
        milestones=[120, 170, 200, 260],
        gamma=0.1,
        by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=16)

model = dict(
    backbone=dict(
        _delete_=True,
        type='ELHRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(
                num_modules=1,
                num_branches=1,
                block='BOTTLENECK',
                num_blocks=(4, ),
                num_channels=(64, )),
            stage2=dict(
                num_modules=1,
                num_branches=2,
                block='LA_BASIC',
                num_blocks=(4, 4),
                num_channels=(32, 64)),
            stage3=dict(
                num_modules=4,
                num_branches=3,
                block='LA_BASIC',
                num_blocks=(4, 4, 4),
                num_channels=(32, 64, 128)),
            stage4=dict(
                num_modules=3,
                num_branches=4,
                block='LA_BASIC',
                num_blocks=(4, 4, 4, 4),
                num_channels=(32, 64, 128, 256))),
        # groups=None: depthwise NConv3x3 (the paper's C^2 + 9C count);
        # reduction_ratio: CBAM's default.
        block_cfg=dict(groups=None, reduction_ratio=16),
        # To start the shared layers (stem, stage 1, transitions, fuse
        # layers) from an HRNet-W32 checkpoint, see docs/el_hrnet.md:
        # init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix=...)
    ))

codec = dict(
    type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='RandomBBoxTransform',
        shift_prob=0,
        rotate_factor=45,
        scale_factor=(0.65, 1.35)),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(
    batch_size=16, dataset=dict(pipeline=train_pipeline))
