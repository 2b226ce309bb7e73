# Ablation: HRNet-W32 with L-Basicblocks (NConv3x3, no CBAM) in stages 2-4,
# trained as EL-HRNet (Li et al., Sensors 2024, Sec. 2.2).
_base_ = './td-hm_el-hrnet-w32_1xb16-300e_coco-256x192.py'

model = dict(
    backbone=dict(
        extra=dict(
            stage2=dict(block='L_BASIC'),
            stage3=dict(block='L_BASIC'),
            stage4=dict(block='L_BASIC')),
        block_cfg=dict(_delete_=True, groups=None)))
