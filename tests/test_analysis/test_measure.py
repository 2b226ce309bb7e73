"""``elhrnet_mm.analysis.measure``: a config counted and matched.

The configs used here inherit MMPose's LiteHRNet-18 model (fast to build,
with exactly known counts). One is named like our EL-HRNet COCO config, so
that the published EL-HRNet rows are looked up for it (the deviations are
then meaningless, the lookup is what is tested).
"""
from pathlib import Path

import pytest

from elhrnet_mm.analysis.measure import measure_config

ROOT = Path(__file__).resolve().parents[2]
EL_COCO = ROOT / 'configs' / 'el_hrnet' / \
    'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192.py'
LITE18 = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
          'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')


def lite18_named(directory: Path, stem: str) -> str:
    path = directory / f'{stem}.py'
    path.write_text(f"_base_ = '{LITE18}'\n"
                    "custom_imports = dict(imports=['elhrnet_mm'])\n")
    return str(path)


@pytest.fixture(scope='module')
def config(tmp_path_factory) -> str:
    return lite18_named(tmp_path_factory.mktemp('cfg'), EL_COCO.stem)


def test_counts_and_rows(config):
    report = measure_config(config)
    assert report.input_hw == (256, 192) and report.num_keypoints == 17
    assert report.params == 1_130_769
    assert report.flops.torchstat == 215_202_112
    assert report.flops.mmengine == pytest.approx(0.266e9, rel=2e-3)
    reference = report.hrnet_reference
    assert reference.flops == pytest.approx(7.645e9, rel=1e-3)
    assert report.flops.hrnet_ratio == pytest.approx(
        report.flops.conv_macs / reference.flops)
    assert report.flops.hrnet_paper_scale == pytest.approx(
        report.flops.hrnet_ratio * 7.1e9)
    assert reference.published['flops'] == 7.1
    assert [(m.row['table'], m.row['params'], m.row['flops'])
            for m in report.paper] == [('Table 2', 5.0, 2.0),
                                       ('Table 3', 5.0, 2.0)]
    assert report.paper[0].flops_ours == pytest.approx(
        report.flops.hrnet_paper_scale / 1e9)
    assert report.torchstat.unknown_modules == ()


def test_input_shape_and_cfg_options(config):
    report = measure_config(config, [384, 288],
                            {'model.head.out_channels': 16})
    assert report.input_shape == [1, 3, 384, 288]
    assert report.num_keypoints == 16
    assert report.paper == () and report.paper_other_sizes == ((256, 192), )
    assert report.hrnet_reference.published['flops'] == 16.0


def test_size_where_hrnet_w32_cannot_run():
    """64x48: the model is counted, the HRNet-W32 ratio is left out."""
    report = measure_config(str(ROOT / 'tests' / 'data' /
                                'tiny_elhrnet_config.py'))
    assert report.input_hw == (64, 48)
    assert report.params > 0 and report.flops.mmengine > 0
    assert report.flops.hrnet_ratio is None
    assert report.flops.hrnet_paper_scale is None
    assert report.hrnet_reference.flops is None


def test_errors(config):
    with pytest.raises(ValueError, match='forward pass failed at '
                       '--input-shape 7 7'):
        measure_config(config, [7])


@pytest.mark.slow
@pytest.mark.skipif(not EL_COCO.is_file(), reason='EL-HRNet config missing')
def test_el_hrnet_config():
    report = measure_config(str(EL_COCO))
    assert [m.row['table'] for m in report.paper] == ['Table 2', 'Table 3']
    # The paper prints 2.00 GFLOPs; the HRNet-W32 conv-MAC ratio x 7.1 G
    # gives 1.99 G for our EL-HRNet-W32.
    assert report.flops.hrnet_paper_scale == pytest.approx(2.0e9, rel=0.02)
