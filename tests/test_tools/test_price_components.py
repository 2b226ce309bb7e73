"""``tools/analysis_tools/price_components.py``: the rows it times and
writes (not their values: timing is never asserted), errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from elhrnet_mm.cli import price_components

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'price_components.py'
EL_SMALL = str(ROOT / 'configs' / 'quickstart' /
               'td-hm_el-hrnet-w32-small_1xb32-8e_synthcoco-128x96.py')
LITEHRNET_18 = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
                'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')


def test_times_each_removal_and_the_baseline(tmp_path):
    pytest.importorskip('onnxruntime')
    out = tmp_path / 'price.json'
    result = subprocess.run(
        [sys.executable, str(TOOL), EL_SMALL, '--remove', 'cbam',
         'l_basic_block', '--baseline', LITEHRNET_18, '--runtime',
         'onnxruntime', '--input-shape', '64', '64', '--runs', '2',
         '--warmup', '1', '--json', str(out)],
        capture_output=True, text=True, cwd=ROOT,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert (report['runtime'], report['runs'], report['input_shape']) == (
        'onnxruntime', 2, [1, 3, 64, 64])
    rows = report['rows']
    assert [r['network'] for r in rows] == [
        'complete', 'without cbam', 'without l_basic_block',
        'without cbam + l_basic_block', 'baseline'
    ]
    assert [r['config'] for r in rows] == [EL_SMALL] * 4 + [LITEHRNET_18]
    blocks = rows[2]['removed']['l_basic_block']
    assert rows[1]['removed'] == {'cbam': blocks} and blocks > 0
    # the blocks' CBAMs go with the blocks
    assert rows[3]['removed'] == {'cbam': 0, 'l_basic_block': blocks}
    assert rows[0]['removed'] == rows[4]['removed'] == {}
    for row in rows:
        assert 0 < row['min_ms'] <= row['median_ms'] <= row['max_ms']
    assert 'not exact (for pricing only)' in result.stdout
    base = rows[4]['median_ms']
    line = next(s for s in result.stdout.splitlines()
                if s.startswith('| without cbam |'))
    assert line.endswith(f'| {rows[1]["median_ms"] / base:.2f}x |')
    assert f'| {rows[0]["median_ms"] - rows[1]["median_ms"]:.2f} |' in line


@pytest.mark.parametrize('args,message', [
    (['--remove', 'dmc'], "--remove: unknown component(s) ['dmc']; allowed: "
     'cbam, gcm, dcm, dka, enhanced_conv_bn, channel_shuffle, l_basic_block'),
    (['--remove', 'cbam', 'cbam'], '--remove names a component twice'),
    (['--remove', 'cbam', '--runs', '0'], '--runs must be a positive'),
    (['--remove', 'cbam', '--threads', '-1'], '--threads must be a positive'),
    (['--remove', 'cbam', '--warmup', '-1'], '--warmup must be >= 0'),
    (['--remove', 'cbam', '--runtime', 'tensorrt'],
     "argument --runtime: invalid choice: 'tensorrt'"),
    (['--remove', 'cbam', '--json', '/nonexistent/dir/x.json'],
     '--json directory does not exist'),
    (['--remove', 'cbam', '--baseline', 'mmpose::nope.py'],
     'mmpose config not found'),
    (['--remove', 'gcm', '--input-shape', '64', '64'],
     "has no module of the component(s) ['gcm']"),
    ([], 'the following arguments are required: --remove'),
])
def test_bad_arguments(assert_usage_error, args, message):
    assert_usage_error(price_components.main, [EL_SMALL, *args], message)


def test_missing_openvino_names_the_extra(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, 'openvino', None)
    with pytest.raises(SystemExit):
        price_components.main([EL_SMALL, '--remove', 'cbam'])
    err = capsys.readouterr().err
    assert "the optional package 'openvino'" in err
    assert 'pip install "elhrnet_mm[deploy]"' in err
