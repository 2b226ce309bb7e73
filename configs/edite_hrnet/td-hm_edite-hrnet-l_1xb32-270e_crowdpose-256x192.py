# EDite-HRNet-L on CrowdPose, 256x192 (Table 4): dense Mix convolution.
_base_ = './td-hm_edite-hrnet-s_1xb32-270e_crowdpose-256x192.py'

model = dict(backbone=dict(mix_groups=1))
