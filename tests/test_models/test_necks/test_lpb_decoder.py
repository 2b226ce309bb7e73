import pytest
import torch

from elhrnet_mm.models.necks import LPBDecoder


def test_stride_16_to_4_and_widths():
    neck = LPBDecoder(block_cfg=dict(se_ratio=4))
    out = neck((torch.rand(2, 40, 32, 24), torch.rand(2, 112, 16, 12)))
    assert len(out) == 1 and out[0].shape == (2, 128, 64, 48)
    mids = [b.expand.conv.out_channels for b in neck.blocks]
    assert mids == [5 * 112, 5 * 128]


def test_bad_arguments():
    with pytest.raises(ValueError, match='out_channels must list'):
        LPBDecoder(out_channels=())
    with pytest.raises(ValueError, match='expand_ratio'):
        LPBDecoder(expand_ratio=0)
    with pytest.raises(ValueError, match="block_cfg must not set 'mid"):
        LPBDecoder(block_cfg=dict(mid_channels=8))
