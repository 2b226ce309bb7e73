"""``tools/analysis_tools/get_flops.py``: JSON output, table, errors.

The configs used here inherit MMPose's LiteHRNet-18 model (fast to build,
with exactly known counts). One is named like our EL-HRNet COCO config, so
that the published EL-HRNet rows are looked up for it (the deviations are
then meaningless, the lookup and layout are what is tested).
"""
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'get_flops.py'
EL_COCO = ROOT / 'configs' / 'el_hrnet' / \
    'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192.py'
LITE18 = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
          'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')


@pytest.fixture(scope='module')
def get_flops():
    spec = importlib.util.spec_from_file_location('get_flops', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def config(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('cfg') / (EL_COCO.stem + '.py')
    path.write_text(f"_base_ = '{LITE18}'\n"
                    "custom_imports = dict(imports=['elhrnet_mm'])\n")
    return str(path)


def test_json_output(config):
    result = subprocess.run(
        [sys.executable, str(TOOL), config, '--json'],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True)
    (line, ) = result.stdout.splitlines()
    report = json.loads(line)
    assert set(report) >= {'params', 'flops', 'input_shape', 'config', 'paper'}
    assert set(report['flops']) == {
        'mmengine', 'torchstat', 'conv_macs', 'hrnet_ratio',
        'hrnet_paper_scale'
    }
    assert report['input_shape'] == [1, 3, 256, 192]
    assert report['params'] == 1_130_769
    assert report['flops']['torchstat'] == 215_202_112
    ratio = report['flops']['conv_macs'] / report['hrnet_reference']['flops']
    assert report['flops']['hrnet_ratio'] == pytest.approx(ratio)
    assert report['flops']['hrnet_paper_scale'] == pytest.approx(ratio * 7.1e9)
    assert [(r['table'], r['params'], r['flops'])
            for r in report['paper']] == [('Table 2', 5.0, 2.0),
                                          ('Table 3', 5.0, 2.0)]
    assert set(report['paper'][0]['deviation_pct']) == {'params', 'flops'}


def test_human_table_shows_paper_values(get_flops, config, capsys):
    assert get_flops.main([config]) == 0
    out = capsys.readouterr().out
    assert 'el-hrnet-sensors2024 Table 2, Table 3' in out
    assert '5.0 M (' in out and '2.00 G [hrnet-paper] (' in out
    assert '205.2 M' in out  # torchstat, binary
    assert 'every module that ran has a counting rule' in out
    assert 'published 7.1 GFLOPs' in out


def test_input_shape_and_cfg_options(get_flops, config, capsys):
    get_flops.main([
        config, '--json', '--input-shape', '384', '288', '--cfg-options',
        'model.head.out_channels=16'
    ])
    report = json.loads(capsys.readouterr().out)
    assert report['input_shape'] == [1, 3, 384, 288]
    assert report['num_keypoints'] == 16
    assert report['paper'] == [] and report['paper_other_sizes'] == [[
        256, 192
    ]]
    assert report['hrnet_reference']['published']['flops'] == 16.0
    report['torchstat']['unknown_modules'] = ['backbone.act (GELU)']
    table = get_flops.format_report(report)
    assert 'no row for td-hm_el-hrnet-w32_1xb16-300e_coco-256x192 at ' \
        '384x288 (rows exist at 256x192)' in table
    assert '1 module(s) counted as 0 FLOPs' in table and 'GELU x1' in table


@pytest.mark.parametrize('argv, message', [
    (['missing.py'], 'config file not found: missing.py'),
    (['{config}', '--input-shape', '256', '192', '3'
      ], '--input-shape takes one or two positive integers'),
    (['{config}', '--input-shape', '0'
      ], '--input-shape takes one or two positive integers'),
    (['{config}', '--input-shape', 'x'], 'argument --input-shape'),
])
def test_clear_errors(get_flops, config, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        get_flops.main([a.format(config=config) for a in argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not EL_COCO.is_file(), reason='EL-HRNet config missing')
def test_el_hrnet_config(get_flops, capsys):
    get_flops.main([str(EL_COCO), '--json'])
    report = json.loads(capsys.readouterr().out)
    assert [r['table'] for r in report['paper']] == ['Table 2', 'Table 3']
    # The paper prints 2.00 GFLOPs; the HRNet-W32 conv-MAC ratio x 7.1 G
    # gives 1.99 G for our EL-HRNet-W32.
    assert report['flops']['hrnet_paper_scale'] == pytest.approx(2.0e9,
                                                                 rel=0.02)


def test_torchstat_decimal_rows_get_a_deviation(get_flops, tmp_path, capsys):
    """EDite-HRNet prints torchstat counts in decimal G: compared as such."""
    edite = 'td-hm_edite-hrnet-s_1xb32-270e_coco-256x192'
    path = tmp_path / f'{edite}.py'
    path.write_text(f"_base_ = '{LITE18}'\n"
                    "custom_imports = dict(imports=['elhrnet_mm'])\n")
    get_flops.main([str(path), '--json'])
    report = json.loads(capsys.readouterr().out)
    rows = [
        r for r in report['paper']
        if r['flops_convention'] == 'torchstat-decimal'
    ]
    assert rows, 'the EDite-HRNet-S rows are torchstat-decimal'
    for row in rows:
        ours = report['flops']['torchstat'] / 1e9  # decimal G, not 2**30
        assert get_flops.measured_in_row_unit(report, row) == ours
        assert row['deviation_pct']['flops'] == round(
            (ours - row['flops']) / row['flops'] * 100, 2)
    in_m = dict(rows[0], flops_unit='M')
    assert get_flops.measured_in_row_unit(
        report, in_m) == report['flops']['torchstat'] / 1e6
    torchstat_line = next(
        line for line in get_flops.format_report(report).splitlines()
        if line.startswith('FLOPs, torchstat'))
    pct = rows[0]['deviation_pct']['flops']
    assert f'[torchstat-decimal] ({pct:+.1f}%)' in torchstat_line
    (column, ) = [
        c for c in get_flops.paper_columns(report) if 'torchstat' in c
    ]
    assert column['flops_ours'] == f'{ours:.3f} G'


def test_size_where_hrnet_w32_cannot_run(get_flops, capsys):
    """64x48: the model is counted, the HRNet-W32 ratio is left out."""
    tiny = ROOT / 'tests' / 'data' / 'tiny_elhrnet_config.py'
    get_flops.main([str(tiny), '--json'])
    report = json.loads(capsys.readouterr().out)
    assert report['input_shape'] == [1, 3, 64, 48]
    assert report['params'] > 0 and report['flops']['mmengine'] > 0
    assert report['flops']['hrnet_ratio'] is None
    assert report['flops']['hrnet_paper_scale'] is None
    assert report['hrnet_reference']['flops'] is None
    table = get_flops.format_report(report)
    assert 'does not run at 64x48' in table
    assert re.search(r'^ratio to HRNet-W32 \(conv MACs\) +n/a$', table, re.M)
