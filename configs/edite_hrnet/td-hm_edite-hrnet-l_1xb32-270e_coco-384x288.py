# EDite-HRNet-L on COCO, 384x288: dense Mix convolution.
_base_ = './td-hm_edite-hrnet-s_1xb32-270e_coco-384x288.py'

model = dict(backbone=dict(mix_groups=1))
