"""``tools/analysis_tools/benchmark_speed.py``: JSON schema, consistency of
the numbers (not their values: timing is never asserted), errors."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'benchmark_speed.py'
MOBILE = str(ROOT / 'configs' / 'mobileposenet' /
             'td-hm_mobileposenet_1xb32-210e_coco-256x192.py')
EL_SMALL = str(ROOT / 'configs' / 'quickstart' /
               'td-hm_el-hrnet-w32-small_1xb32-8e_synthcoco-128x96.py')
HRNET_W32 = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
             'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py')
TINY = ['--input-shape', '64', '64', '--runs', '2', '--warmup', '1']


def run_tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *args],
                          capture_output=True,
                          text=True,
                          cwd=ROOT,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))


def check_rows(rows, base_rows, batch):
    """Every row's ratios against its layout's baseline row."""
    for r in rows:
        base = base_rows[r['layout']]
        assert r['name'] == Path(r['config']).stem
        assert r['input_shape'] == [batch, 3, 64, 64]
        assert 0 < r['min_ms'] <= r['median_ms'] <= r['max_ms']
        assert r['images_per_s'] == pytest.approx(batch * 1000 /
                                                  r['median_ms'])
        assert r['latency_ratio'] == pytest.approx(r['median_ms'] /
                                                   base['median_ms'])
        assert r['speedup'] == pytest.approx(1 / r['latency_ratio'])


def check_report(report, configs, baseline, batch, backend,
                 layouts=('nchw', ), allocator='system'):
    keys = {'machine', 'settings', 'baseline', 'results'}
    if len(layouts) > 1:
        keys.add('fastest_layout')
    assert set(report) == keys
    machine = report['machine']
    assert set(machine) == {'cpu', 'cores', 'platform', 'python', 'torch',
                            'onnxruntime'}
    assert machine['cores'] >= 1 and machine['torch'] == torch.__version__
    assert report['settings'] == dict(batch=batch, threads=1, device='cpu',
                                      backend=backend, fuse=True,
                                      layouts=list(layouts),
                                      allocator=allocator, warmup=1, runs=2)
    assert report['baseline'] == baseline
    results = report['results']
    # every config in every layout, configs in the order given
    assert [(r['config'], r['layout']) for r in results] == \
        [(c, layout) for c in configs for layout in layouts]
    base_rows = {r['layout']: r for r in results if r['config'] == baseline}
    for r in results:
        assert set(r) == {'config', 'name', 'layout', 'input_shape',
                          'median_ms', 'min_ms', 'max_ms', 'images_per_s',
                          'latency_ratio', 'speedup'}
    check_rows(results, base_rows, batch)
    if len(layouts) > 1:
        fastest = report['fastest_layout']
        assert [r['config'] for r in fastest] == configs
        for f in fastest:
            own = [r for r in results if r['config'] == f['config']]
            assert f['median_ms'] == min(r['median_ms'] for r in own)
            assert f == {**next(r for r in own if r['layout'] == f['layout']),
                         **{k: f[k] for k in ('images_per_s',
                                              'latency_ratio', 'speedup')}}
        base = next(f for f in fastest if f['config'] == baseline)
        check_rows(fastest, {layout: base for layout in layouts}, batch)


def test_pytorch_with_default_baseline(tmp_path):
    out = tmp_path / 'speed.json'
    result = run_tool(MOBILE, EL_SMALL, *TINY, '--batch', '2', '--json',
                      str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    # the default baseline is measured in the same run, after the configs
    check_report(report, [MOBILE, EL_SMALL, HRNET_W32], HRNET_W32, 2,
                 'pytorch')
    assert 'time: 100%' in result.stderr  # the progress bar
    table = result.stdout
    assert f'{report["machine"]["cores"]} cores' in table
    assert ('pytorch on cpu, batch 2, 1 thread(s), fused: True, layouts: '
            'nchw, allocator: system') in table
    for r in report['results']:
        assert r['name'] in table
    assert "fastest layout" not in table


def test_both_layouts_and_retained_memory(tmp_path):
    out = tmp_path / 'speed.json'
    result = run_tool(MOBILE, *TINY, '--baseline', EL_SMALL, '--layout',
                      'both', '--allocator', 'retain', '--json', str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    check_report(report, [MOBILE, EL_SMALL], EL_SMALL, 1, 'pytorch',
                 layouts=('nchw', 'channels_last'), allocator='retain')
    assert 'layouts: nchw, channels_last, allocator: retain' in result.stdout
    assert "each config's fastest layout" in result.stdout


def test_onnxruntime_backend(tmp_path):
    pytest.importorskip('onnxruntime')
    out = tmp_path / 'speed.json'
    result = run_tool(MOBILE, *TINY, '--backend', 'onnxruntime', '--baseline',
                      MOBILE, '--json', str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    check_report(report, [MOBILE], MOBILE, 1, 'onnxruntime')
    assert report['machine']['onnxruntime'] is not None


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('benchmark_speed', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('args,message', [
    (['--runs', '0'], '--runs must be a positive integer, got 0'),
    (['--warmup', '-1'], '--warmup must be >= 0'),
    (['--backend', 'tensorrt'], "invalid choice: 'tensorrt'"),
    (['--input-shape', '72', '64'], 'does not run at input 72x64'),
    (['--baseline', 'mmpose::nope.py'], 'mmpose config not found'),
    (['--json', '/nonexistent/dir/x.json'], '--json directory does not exist'),
    (['--layout', 'nhwc'], "invalid choice: 'nhwc'"),
    (['--layout', 'both', '--no-fuse'], 'drop --no-fuse or use --layout nchw'),
    (['--layout', 'channels_last', '--backend', 'onnxruntime'],
     'only the PyTorch backend takes a layout'),
    (['--allocator', 'jemalloc'], "invalid choice: 'jemalloc'"),
])
def test_bad_arguments(tool, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        tool.main([EL_SMALL, *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason='CUDA is available')
def test_cuda_absent(tool, capsys):
    with pytest.raises(SystemExit):
        tool.main([EL_SMALL, '--device', 'cuda'])
    assert '--device cuda: CUDA is not available' in capsys.readouterr().err
