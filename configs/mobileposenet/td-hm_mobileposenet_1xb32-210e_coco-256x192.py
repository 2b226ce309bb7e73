# MobilePoseNet on COCO, 256x192: Wireless Communications and
# Mobile Computing 2021, article 1333250, Sec. 3 and 4.2. MMPose's
# MobileNetV2 COCO config (Adam, 210 epochs, lr x0.1 at 170/200, half-body)
# with the paper's encoder (MobileNetV3-Large stem + 12 bottlenecks, C4) and
# decoder (two lightweight upsampling blocks), and the paper's training:
# Adam, batch 32 on one GPU, 210 epochs, rotation +-45 deg, scale
# 0.65-1.35, flip, half-body. The learning rate value is not in our copy of
# the paper: 1e-3 (SimpleBaseline's) is our choice, see
# docs/mobileposenet.md.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_mobilenetv2_8xb64-210e_coco-256x192.py',
    '../_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=_base_.atomic_checkpoint_hook)
custom_hooks = _base_.custom_hooks + _base_.elhrnet_custom_hooks

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
auto_scale_lr = dict(base_batch_size=32)

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobilePoseNetEncoder',
        num_layers=12,  # "the first 13 layers": stem + 12 bottlenecks
        out_indices=(11, ),  # C4: 112 channels, stride 16
        # ImageNet weights (mmpretrain MobileNetV3-Large, docs):
        # init_cfg=dict(type='Pretrained', prefix='backbone.',
        #     checkpoint='https://download.openmmlab.com/mmclassification/'
        #     'v0/mobilenet_v3/mobilenet-v3-large_8xb128_in1k_20221114-'
        #     '0ed9ed9a.pth'),
    ),
    neck=dict(
        type='LPBDecoder',
        in_channels=112,
        out_channels=(128, 128),  # two x2 blocks: stride 16 -> 4
        expand_ratio=5,
        block_cfg=dict(
            kernel_size=4, se_position='expanded', se_ratio=4,
            fusion='mul_add')),
    head=dict(
        in_channels=128, deconv_out_channels=None, deconv_kernel_sizes=None))

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
        rotate_factor=45,
        scale_factor=(0.65, 1.35)),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))

# The paper's model ends with its parallel OKS-NMS (Sec. 3.3, Algorithm 1):
# COCO evaluation rescores every image's poses with it (gaussian decay,
# sigma 2; ParallelNMSCocoMetric keeps CocoMetric's ann_file and scoring).
# MMPose's greedy OKS-NMS instead: --cfg-options
# val_evaluator.nms_mode=oks_nms test_evaluator.nms_mode=oks_nms
val_evaluator = dict(type='ParallelNMSCocoMetric', nms_mode='parallel_oks')
test_evaluator = val_evaluator
