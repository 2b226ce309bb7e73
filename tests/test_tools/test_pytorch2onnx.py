"""``tools/deployment/pytorch2onnx.py``: export, verification, errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'deployment' / 'pytorch2onnx.py'
MOBILE = str(ROOT / 'configs' / 'mobileposenet' /
             'td-hm_mobileposenet_1xb32-210e_coco-256x192.py')
EL_SMALL = str(ROOT / 'configs' / 'quickstart' /
               'td-hm_el-hrnet-w32-small_1xb32-8e_synthcoco-128x96.py')

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

from elhrnet_mm.cli import pytorch2onnx  # noqa: E402


def run_tool(*args):
    """Run the tool in a subprocess."""
    return subprocess.run([sys.executable, str(TOOL), *args],
                          capture_output=True,
                          text=True,
                          cwd=ROOT,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_export_and_verify(tmp_path):
    pytest.importorskip('openvino')
    out = tmp_path / 'mobile.onnx'
    xml = tmp_path / 'mobile.xml'
    result = run_tool(MOBILE, '--output', str(out), '--input-shape', '64',
                      '64', '--verify', '--runs', '2', '--openvino', str(xml))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1e6
    assert (tmp_path / 'mobile.bin').stat().st_size > 1e6
    assert 'input 1x3x64x64, fixed batch, fused: True' in result.stdout
    # random and mannequin, batch 1, in each runtime
    assert result.stdout.count(': ok') == 4
    assert 'verify OpenVINO batch 1 mannequin' in result.stdout
    assert 'verify: passed' in result.stdout
    assert 'OpenVINO speedup over PyTorch' in result.stdout
    # 64x64 is not the codec's input size: no metadata, and it says so
    assert 'metadata: not written beside' in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'mobile.bin', 'mobile.onnx', 'mobile.xml']


def test_dynamic_batch_verifies_another_batch(tmp_path):
    out = tmp_path / 'el.onnx'
    result = run_tool(EL_SMALL, '--output', str(out), '--dynamic-batch',
                      '--batch', '2', '--verify', '--runs', '1', '--opset',
                      '18')
    assert result.returncode == 0, result.stderr
    # default input: the codec's input_size (W, H) = (96, 128)
    assert 'input 2x3x128x96, dynamic batch' in result.stdout
    assert 'opset 18' in result.stdout
    assert 'verify ONNX Runtime batch 3 mannequin' in result.stdout
    assert 'verify: passed' in result.stdout
    # the pipeline's metadata beside the model
    meta = json.loads((tmp_path / 'el.pose.json').read_text())
    assert meta['input_size'] == [96, 128]


@pytest.fixture(scope='module')
def tool():
    """The command line the script runs (tools/ only calls ``main``)."""
    return pytorch2onnx


@pytest.mark.parametrize('args,message', [
    (['--opset', '9'], '--opset: opset 9 is not supported; allowed: 11 to 20'),
    (['--input-shape', '0', '64'], '--input-shape takes two positive'),
    (['--batch', '0'], '--batch must be a positive integer'),
    (['--checkpoint', 'missing.pth'], '--checkpoint file not found'),
    (['--input-shape', '72', '64'], 'does not run at --input-shape 72 64'),
    (['--openvino', 'model.bin'], '--openvino must name a .xml file'),
])
def test_bad_arguments(tool, assert_usage_error, tmp_path, args, message):
    assert_usage_error(tool.main,
                       [EL_SMALL, '--output', str(tmp_path / 'x.onnx'), *args],
                       message)


def test_missing_config_and_output_dir(tool, assert_usage_error, tmp_path):
    assert_usage_error(tool.main,
                       ['nope.py', '--output', str(tmp_path / 'x.onnx')],
                       'config file not found: nope.py')
    assert_usage_error(tool.main,
                       [MOBILE, '--output', str(tmp_path / 'no' / 'x.onnx')],
                       '--output directory does not exist')


def test_missing_extra(tool, assert_usage_error, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, 'onnx', None)
    assert_usage_error(tool.main,
                       [MOBILE, '--output', str(tmp_path / 'x.onnx')],
                       'pip install "elhrnet_mm[deploy]"')


def test_missing_openvino(tool, assert_usage_error, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, 'openvino', None)
    assert_usage_error(tool.main,
                       [MOBILE, '--output', str(tmp_path / 'x.onnx'),
                        '--openvino', str(tmp_path / 'x.xml')],
                       "'openvino' is not installed")


def test_output_must_be_onnx(tool, assert_usage_error, tmp_path):
    assert_usage_error(tool.main,
                       [MOBILE, '--output', str(tmp_path / 'x.pt')],
                       '--output must name a .onnx file')
