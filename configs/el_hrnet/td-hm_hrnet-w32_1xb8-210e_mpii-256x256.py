# Ablation on MPII: stages 2-4 built from BASIC blocks, trained as EL-HRNet.
_base_ = './td-hm_el-hrnet-w32_1xb8-210e_mpii-256x256.py'

model = dict(
    backbone=dict(
        extra=dict(
            stage2=dict(block='BASIC'),
            stage3=dict(block='BASIC'),
            stage4=dict(block='BASIC')),
        block_cfg=dict(_delete_=True)))
