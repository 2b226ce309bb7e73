# EDite-HRNet-L on COCO, 256x192: EDite-HRNet-S with a "normal" (dense)
# 3x3 Mix convolution in every EDMC block (Sec. IV-B; docs/edite_hrnet.md).
_base_ = './td-hm_edite-hrnet-s_1xb32-270e_coco-256x192.py'

model = dict(backbone=dict(mix_groups=1))
