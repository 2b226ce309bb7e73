# EDite-HRNet-L on MPII, 256x256: dense Mix convolution.
_base_ = './td-hm_edite-hrnet-s_1xb32-260e_mpii-256x256.py'

model = dict(backbone=dict(mix_groups=1))
