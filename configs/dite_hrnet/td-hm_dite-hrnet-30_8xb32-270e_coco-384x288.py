# Dite-HRNet-30 on COCO, 384x288 (official ditehrnet_30_coco_384x288.py).
_base_ = './td-hm_dite-hrnet-18_8xb32-270e_coco-384x288.py'

model = dict(
    backbone=dict(extra=dict(stages_spec=dict(num_modules=(3, 8, 3)))))
