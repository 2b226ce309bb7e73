# Dite-HRNet-18 on CrowdPose, 256x192, as EDite-HRNet's Table 4 compares it:
# trained on trainval, tested on test, "other settings basically consistent
# with the COCO dataset" (Sec. IV-B4), i.e. the EDite-HRNet COCO recipe on
# one GPU (td-hm_edite-hrnet-s_1xb32-270e_coco-256x192.py). 14 keypoints;
# data settings, test detections and metric (CocoMetric with
# iou_type='keypoints_crowd') are MMPose's
# td-hm_hrnet-w32_8xb64-210e_crowdpose-256x192.py.
_base_ = '../dite_hrnet/td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py'

auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(
    checkpoint=dict(save_best='crowdpose/AP', rule='greater'))
model = dict(head=dict(out_channels=14))

dataset_type = 'CrowdPoseDataset'
data_root = 'data/crowdpose/'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/mmpose_crowdpose_trainval.json',
        data_prefix=dict(img='images/')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/mmpose_crowdpose_test.json',
        bbox_file='data/crowdpose/annotations/'
        'det_for_crowd_test_0.1_0.5.json',
        data_prefix=dict(img='images/')))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/mmpose_crowdpose_test.json',
    use_area=False,
    iou_type='keypoints_crowd',
    prefix='crowdpose')
test_evaluator = val_evaluator
