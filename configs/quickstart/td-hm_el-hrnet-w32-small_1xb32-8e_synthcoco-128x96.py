# Quick start: EL-HRNet (LA-Basicblocks, HRNet-W32 widths) trained for a few
# minutes on 2 CPU cores on the built-in synthetic COCO-format data
# (SyntheticCocoDataset; generated into ~/.cache/elhrnet_mm on first use, or
# $ELHRNET_MM_DATA), evaluated with MMPose's CocoMetric. To fit the time
# budget the network is shallower than the paper's EL-HRNet-W32 (one module
# of two blocks per stage instead of 1/4/3 modules of four) and the input is
# 128x96; blocks, widths and fusion are the paper's.
_base_ = ['mmpose::_base_/default_runtime.py', '../_base_/default_runtime.py']

# top-down data (MMPose's inferencers read these top-level keys)
dataset_type = 'SyntheticCocoDataset'
data_mode = 'topdown'

# generation parameters of the synthetic data (data_root None: the cache)
synthetic_data = dict(
    data_root=None, num_train_images=600, num_val_images=100, seed=0)

train_cfg = dict(max_epochs=8, val_interval=8)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=50, start_factor=0.01,
        by_epoch=False),
    dict(type='MultiStepLR', milestones=[6], gamma=0.1, by_epoch=True)
]
randomness = dict(seed=0)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        **_base_.atomic_checkpoint_hook,
        interval=8,
        save_best='coco/AP',
        rule='greater'))
custom_hooks = _base_.custom_hooks + _base_.elhrnet_custom_hooks

codec = dict(
    type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2)

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='ELHRNet',
        extra=dict(
            stage1=dict(
                num_modules=1,
                num_branches=1,
                block='BOTTLENECK',
                num_blocks=(2, ),
                num_channels=(64, )),
            stage2=dict(
                num_modules=1,
                num_branches=2,
                block='LA_BASIC',
                num_blocks=(2, 2),
                num_channels=(32, 64)),
            stage3=dict(
                num_modules=1,
                num_branches=3,
                block='LA_BASIC',
                num_blocks=(2, 2, 2),
                num_channels=(32, 64, 128)),
            stage4=dict(
                num_modules=1,
                num_branches=4,
                block='LA_BASIC',
                num_blocks=(2, 2, 2, 2),
                num_channels=(32, 64, 128, 256)))),
    head=dict(
        type='HeatmapHead',
        in_channels=32,
        out_channels=17,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_prob=0, rotate_factor=30),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='images/train/'),
        pipeline=train_pipeline,
        **synthetic_data))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val.json',
        data_prefix=dict(img='images/val/'),
        test_mode=True,
        pipeline=val_pipeline,
        **synthetic_data))
test_dataloader = val_dataloader
# no ann_file: CocoMetric builds the COCO ground truth from the dataset itself
val_evaluator = dict(type='CocoMetric')
test_evaluator = val_evaluator
