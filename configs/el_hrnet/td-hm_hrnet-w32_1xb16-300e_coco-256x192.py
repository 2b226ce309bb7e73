# Ablation baseline: HRNet-W32 (BasicBlocks) built by ELHRNet, trained with
# EL-HRNet's recipe, so the three block types differ in nothing else.
_base_ = './td-hm_el-hrnet-w32_1xb16-300e_coco-256x192.py'

model = dict(
    backbone=dict(
        extra=dict(
            stage2=dict(block='BASIC'),
            stage3=dict(block='BASIC'),
            stage4=dict(block='BASIC')),
        block_cfg=dict(_delete_=True)))
