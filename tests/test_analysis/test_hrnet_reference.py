"""MMPose's HRNet-W32 as the yardstick
(``elhrnet_mm.analysis.hrnet_reference``)."""
import pytest
from mmengine.config import Config

from elhrnet_mm.analysis.counters import conv_macs
from elhrnet_mm.analysis.hrnet_reference import (hrnet_w32_flops,
                                                 hrnet_w32_published,
                                                 hrnet_w32_ratio)
from elhrnet_mm.utils.mmpose_models import build_estimator, mmpose_config_path

HRNET_MPII = ('body_2d_keypoint/topdown_heatmap/mpii/'
              'td-hm_hrnet-w32_8xb64-210e_mpii-256x256.py')


def test_conv_macs_hrnet_w32_256x192():
    # Measured: 7,645,003,776 (plain conv MACs of MMPose's HRNet-W32).
    macs = hrnet_w32_flops('conv_macs', (256, 192))
    assert macs == pytest.approx(7.645e9, rel=1e-3)


def test_hrnet_w32_ratio_to_itself():
    # MMPose's MPII HRNet-W32 config is the reference model with 16
    # keypoints, so its ratio to the reference is exactly 1.
    model = build_estimator(Config.fromfile(mmpose_config_path(HRNET_MPII)))
    macs = conv_macs(model, (1, 3, 256, 256))
    assert hrnet_w32_ratio(macs, 'conv_macs', (256, 256), 16) == 1.0


def test_hrnet_w32_published_rows():
    assert hrnet_w32_published((256, 192))['flops'] == 7.1
    assert hrnet_w32_published([384, 288])['flops'] == 16.0
    assert hrnet_w32_published((256, 256))['flops'] == 9.5
    assert hrnet_w32_published((128, 96)) is None
