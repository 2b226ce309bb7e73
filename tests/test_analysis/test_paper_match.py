"""Our counts in a published row's convention (``analysis.paper_match``)
and the report's JSON layout (``analysis.report``)."""
import json

import pytest

from elhrnet_mm.analysis.counters import TorchstatCount
from elhrnet_mm.analysis.paper_match import (deviation_pct,
                                             flops_in_row_unit,
                                             gflops_in_paper_convention,
                                             match_rows, paper_columns,
                                             row_gflops)
from elhrnet_mm.analysis.published import find_rows
from elhrnet_mm.analysis.report import (ComplexityReport, FlopsCounts,
                                        HRNetReference)

EL_COCO = 'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192'
EDITE_S = 'td-hm_edite-hrnet-s_1xb32-270e_coco-256x192'
FLOPS = FlopsCounts(mmengine=2_100_000_000,
                    torchstat=215_202_112,
                    conv_macs=2_000_000_000,
                    hrnet_ratio=0.25,
                    hrnet_paper_scale=1.775e9)


def _report(config, params=5_000_000, flops=FLOPS):
    return ComplexityReport(
        config=f'configs/x/{config}.py',
        input_hw=(256, 192),
        num_keypoints=17,
        params=params,
        flops=flops,
        torchstat=TorchstatCount(flops=flops.torchstat, params=params,
                                 unknown_modules=()),
        hrnet_reference=HRNetReference(config='mmpose::hrnet',
                                       num_keypoints=17,
                                       convention='conv_macs',
                                       flops=8_000_000_000,
                                       published=None),
        paper=match_rows(config, (256, 192), params, flops),
        paper_other_sizes=())


def test_each_convention_in_its_unit():
    row = dict(flops_convention='torchstat-binary', flops_unit='M')
    assert flops_in_row_unit(FLOPS, row) == 215_202_112 / 2**20
    row.update(flops_unit='G')
    assert flops_in_row_unit(FLOPS, row) == 215_202_112 / 2**30
    row.update(flops_convention='hrnet-paper')
    assert flops_in_row_unit(FLOPS, row) == 1.775
    row.update(flops_convention='mmengine', flops_unit='M')
    assert flops_in_row_unit(FLOPS, row) == 2100.0
    row.update(flops_convention='unstated')
    assert flops_in_row_unit(FLOPS, row) is None
    unknown_scale = FlopsCounts(1, 1, 1, None, None)
    assert flops_in_row_unit(unknown_scale,
                             dict(row, flops_convention='hrnet-paper')) is None


def test_deviation_and_row_gflops():
    assert deviation_pct(2.1, 2.0) == 5.0
    assert deviation_pct(None, 2.0) is None and deviation_pct(1.0, 0) is None
    (mobile, *_) = find_rows(config_name='td-hm_mobileposenet_1xb32-210e_'
                             'coco-256x192', dataset='coco-val2017')
    assert mobile['flops_unit'] == 'M' and row_gflops(mobile) == 0.557


def test_match_rows_el_hrnet():
    report = _report(EL_COCO)
    assert [m.row['table'] for m in report.paper] == ['Table 2', 'Table 3']
    first = report.paper[0]
    assert first.flops_ours == pytest.approx(1.775)
    assert first.flops_deviation_pct == round((1.775 - 2.0) / 2.0 * 100, 2)
    assert first.params_deviation_pct == 0.0  # 5.0 M published
    (column, ) = paper_columns(report)  # both tables print the same row
    assert column.head == ('el-hrnet-sensors2024 Table 2, Table 3 '
                           '(coco-val2017, coco-test-dev)')
    assert column.line == 'hrnet_paper_scale'
    assert column.flops == '2.00 G [hrnet-paper] (-11.2%)'
    assert column.params == '5.0 M (+0.0%)'
    assert column.flops_ours == '1.775 G'
    assert gflops_in_paper_convention(report, [m.row for m in report.paper
                                               ]) == (pytest.approx(1.775),
                                                      'hrnet-paper')


def test_torchstat_column_and_mmengine_fallback():
    report = _report(EDITE_S)  # EDite-HRNet prints torchstat in binary G
    columns = paper_columns(report)
    column = next(c for c in columns if c.line == 'torchstat')
    assert '[torchstat-binary] (' in column.flops
    assert column.flops_ours == f'{215_202_112 / 2**30:.3f} G'
    assert gflops_in_paper_convention(report, []) == (2.1, 'mmengine')


def test_report_json_layout():
    data = _report(EL_COCO).to_json()
    assert json.loads(json.dumps(data)) == data  # plain JSON types
    assert data['input_shape'] == [1, 3, 256, 192]
    assert set(data['flops']) == {
        'mmengine', 'torchstat', 'conv_macs', 'hrnet_ratio',
        'hrnet_paper_scale'
    }
    assert data['torchstat']['flops_binary_m'] == 215_202_112 / 2**20
    assert data['hrnet_reference']['flops'] == 8_000_000_000
    assert [r['table'] for r in data['paper']] == ['Table 2', 'Table 3']
    assert data['paper'][0]['deviation_pct'] == {'params': 0.0,
                                                 'flops': -11.25}
