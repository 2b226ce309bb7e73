# Dite-HRNet-30 on COCO, 256x192: Dite-HRNet-18's recipe with
# num_modules=(3, 8, 3) (official ditehrnet_30_coco_256x192.py).
_base_ = './td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py'

model = dict(
    backbone=dict(extra=dict(stages_spec=dict(num_modules=(3, 8, 3)))))
