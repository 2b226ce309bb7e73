"""``tools/analysis_tools/profile_ops.py``: what it prints and writes (not
the times' values), errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from elhrnet_mm.cli import profile_ops

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'profile_ops.py'
EL_SMALL = str(ROOT / 'configs' / 'quickstart' /
               'td-hm_el-hrnet-w32-small_1xb32-8e_synthcoco-128x96.py')


def run_tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *args],
                          capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_profiles_in_both_runtimes(tmp_path):
    pytest.importorskip('onnxruntime')
    pytest.importorskip('openvino')
    out = tmp_path / 'profile.json'
    result = run_tool(EL_SMALL, '--runtime', 'onnxruntime', 'openvino',
                      '--input-shape', '64', '64', '--runs', '2', '--warmup',
                      '1', '--top', '3', '--json', str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert [r['runtime'] for r in report] == ['onnxruntime', 'openvino']
    for r in report:
        assert r['input_shape'] == [1, 3, 64, 64] and r['runs'] == 2
        assert r['nodes'] and all(n['us'] >= 0 for n in r['nodes'])
        total = sum(n['us'] for n in r['nodes'])
        for by in ('by_op_type', 'by_block'):
            assert sum(row['ms'] for row in r[by]) * 1e3 == pytest.approx(
                total, rel=1e-6)
        blocks = {row['key'] for row in r['by_block']}
        assert {'SplitNConvBlock', 'TiledGateCBAM', 'Bottleneck'} <= blocks
        assert f'== {EL_SMALL} | {r["runtime"]} | input 1x3x64x64' \
            in result.stdout


@pytest.mark.parametrize('args,message', [
    (['--runs', '0'], '--runs must be a positive integer'),
    (['--top', '0'], '--top must be a positive integer'),
    (['--warmup', '-1'], '--warmup must be >= 0'),
    (['--json', '/nonexistent/dir/x.json'], '--json directory does not exist'),
    (['--runtime', 'tensorrt'], "invalid choice: 'tensorrt'"),
])
def test_bad_arguments(assert_usage_error, args, message):
    assert_usage_error(profile_ops.main, [EL_SMALL, *args], message)


def test_missing_openvino_names_the_extra(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, 'openvino', None)
    with pytest.raises(SystemExit):
        profile_ops.main([EL_SMALL, '--runtime', 'openvino'])
    assert 'pip install "elhrnet_mm[deploy]"' in capsys.readouterr().err
