# Dite-HRNet-30 on MPII, 256x256: Dite-HRNet-18's MPII recipe.
_base_ = './td-hm_dite-hrnet-18_8xb32-260e_mpii-256x256.py'

model = dict(
    backbone=dict(extra=dict(stages_spec=dict(num_modules=(3, 8, 3)))))
