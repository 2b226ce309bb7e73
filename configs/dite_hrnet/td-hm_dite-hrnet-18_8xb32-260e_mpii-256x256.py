# Dite-HRNet-18 on MPII, 256x256: the COCO recipe (Adam lr 2e-3, batch
# 32 x 8, warm-up, x0.1 at 170/200, rotation 30, scale 0.25, flip) for 260
# epochs (the official MPII configs' total_epochs), 16 joints, ground-truth
# boxes, PCKh@0.5. No half-body augmentation, as in MMPose's MPII recipes.
# Data settings are MMPose's td-hm_litehrnet-18_8xb64-210e_mpii-256x256.py.
_base_ = './td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py'

train_cfg = dict(max_epochs=260, val_interval=10)
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001,
        by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=260,
        milestones=[170, 200],
        gamma=0.1,
        by_epoch=True)
]
default_hooks = dict(checkpoint=dict(save_best='PCK', rule='greater'))

codec = dict(
    type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)
model = dict(head=dict(out_channels=16, decoder=codec))

dataset_type = 'MpiiDataset'
data_root = 'data/mpii/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='RandomBBoxTransform',
        shift_prob=0,
        rotate_factor=30,
        scale_factor=(0.75, 1.25)),
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
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/mpii_train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        data_mode='topdown',
        ann_file='annotations/mpii_val.json',
        headbox_file='data/mpii/annotations/mpii_gt_val.mat',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='MpiiPCKAccuracy')
test_evaluator = val_evaluator
