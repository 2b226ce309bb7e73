# A tiny EL-HRNet top-down config for training tests on the synthetic COCO
# data (tests/conftest.py's tiny_coco): 3 branches of 16/32/64 channels,
# 64x48 input, batch 4, 2 epochs, deterministic. Tests point the datasets at
# the data root with tiny_data_options() (tests/test_tools/tiny_run.py).
_base_ = [
    'mmpose::_base_/default_runtime.py',
    '../../configs/_base_/default_runtime.py'
]

train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = []
randomness = dict(seed=0, deterministic=True)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(
        **_base_.atomic_checkpoint_hook, interval=1, max_keep_ckpts=1))
log_processor = dict(window_size=1)
custom_hooks = _base_.custom_hooks + _base_.elhrnet_custom_hooks

# top-level keys of MMPose's configs that its inferencers read
dataset_type = 'CocoDataset'
data_mode = 'topdown'

codec = dict(
    type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=2)


def _stage(branches, block='LA_BASIC'):
    return dict(
        num_modules=1,
        num_branches=branches,
        block=block,
        num_blocks=(1, ) * branches,
        num_channels=(16, 32, 64)[:branches])


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
                num_blocks=(1, ),
                num_channels=(16, )),
            stage2=_stage(2),
            stage3=_stage(3),
            stage4=_stage(3))),
    head=dict(
        type='HeatmapHead',
        in_channels=16,
        out_channels=17,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=False))

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
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_mode=data_mode,
        data_root='data/synthetic_coco/',
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='images/train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_mode=data_mode,
        data_root='data/synthetic_coco/',
        ann_file='annotations/person_keypoints_val.json',
        data_prefix=dict(img='images/val/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric')
test_evaluator = val_evaluator
