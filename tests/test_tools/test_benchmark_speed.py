"""``tools/analysis_tools/benchmark_speed.py``: JSON schema, consistency of
the numbers (not their values: timing is never asserted), errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from elhrnet_mm.analysis.speed_comparison import BEGIN_MARK, END_MARK
from elhrnet_mm.cli import benchmark_speed

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'benchmark_speed.py'
MOBILE = str(ROOT / 'configs' / 'mobileposenet' /
             'td-hm_mobileposenet_1xb32-210e_coco-256x192.py')
EL_SMALL = str(ROOT / 'configs' / 'quickstart' /
               'td-hm_el-hrnet-w32-small_1xb32-8e_synthcoco-128x96.py')
HRNET_W32 = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
             'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py')
TINY = ['--input-shape', '64', '64', '--runs', '2', '--warmup', '1']


COCO_IMAGE = str(ROOT.parent / 'shared' / 'data' / 'real_samples' / 'coco' /
                 '000000000785.jpg')


def run_tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *args],
                          capture_output=True,
                          text=True,
                          cwd=ROOT,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))


LITEHRNET_18 = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
                'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')
ROW_KEYS = {'config', 'name', 'runtime', 'layout', 'input_shape', 'median_ms',
            'min_ms', 'max_ms', 'images_per_s', 'latency_ratio', 'speedup',
            'baseline'}


def check_rows(rows, base_rows, baselines, batch):
    """Every row's ratios against its baseline's row of the same runtime
    and layout."""
    for r in rows:
        assert r['baseline'] == baselines[r['config']]
        base = base_rows[(r['baseline'], r['runtime'], r['layout'])]
        assert r['name'] == Path(r['config']).stem
        assert r['input_shape'] == [batch, 3, 64, 64]
        assert 0 < r['min_ms'] <= r['median_ms'] <= r['max_ms']
        assert r['images_per_s'] == pytest.approx(batch * 1000 /
                                                  r['median_ms'])
        assert r['latency_ratio'] == pytest.approx(r['median_ms'] /
                                                   base['median_ms'])
        assert r['speedup'] == pytest.approx(1 / r['latency_ratio'])


def check_comparison(report, baselines):
    """The per-model comparison recomputed from the rows."""
    rows = report.get('fastest_layout', report['results'])
    ms = {(r['config'], r['runtime']): r['median_ms'] for r in rows}
    runtimes = report['settings']['runtimes']
    comparison = report['comparison']
    assert [c['config'] for c in comparison] == list(baselines)
    macs = {c['config']: c['conv_macs'] for c in comparison}
    for c in comparison:
        base = baselines[c['config']]
        assert c['baseline'] == base
        assert c['runtimes'] == {rt: ms[(c['config'], rt)]
                                 for rt in runtimes}
        assert c['best_ms'] == min(c['runtimes'].values())
        assert c['runtimes'][c['best_runtime']] == c['best_ms']
        base_best = min(ms[(base, rt)] for rt in runtimes)
        assert c['best_vs_best'] == pytest.approx(c['best_ms'] / base_best)
        for rt in runtimes:
            assert c['ratio_same_runtime'][rt] == pytest.approx(
                ms[(c['config'], rt)] / ms[(base, rt)])
        assert c['conv_macs'] > 1e6
        promised = macs[base] / c['conv_macs']
        assert c['mac_speedup'] == pytest.approx(promised)
        assert c['realized_over_promised'] == pytest.approx(
            (base_best / c['best_ms']) / promised)


def check_report(report, baselines, batch, backend, runtimes,
                 layouts=('nchw', ), allocator='system'):
    keys = {'machine', 'settings', 'baselines', 'results', 'comparison'}
    if len(layouts) > 1:
        keys.add('fastest_layout')
    assert set(report) == keys
    machine = report['machine']
    assert set(machine) == {'cpu', 'cores', 'platform', 'python', 'torch',
                            'onnxruntime', 'openvino'}
    assert machine['cores'] >= 1 and machine['torch'] == torch.__version__
    assert report['settings'] == dict(batch=batch, threads=1, device='cpu',
                                      backend=backend,
                                      runtimes=list(runtimes),
                                      precision='f32', fuse=True,
                                      layouts=list(layouts),
                                      allocator=allocator, warmup=1, runs=2)
    assert report['baselines'] == baselines
    results = report['results']
    # every config in every runtime (and PyTorch layout), in the order given
    expected = [(c, rt, layout) for c in baselines for rt in runtimes
                for layout in (layouts if rt == 'pytorch' else ('nchw', ))]
    assert sorted((r['config'], r['runtime'], r['layout'])
                  for r in results) == sorted(expected)
    assert list(dict.fromkeys(r['config'] for r in results)) == \
        list(baselines)
    base_rows = {(r['config'], r['runtime'], r['layout']): r
                 for r in results}
    for r in results:
        assert set(r) == ROW_KEYS
    check_rows(results, base_rows, baselines, batch)
    if len(layouts) > 1:
        fastest = report['fastest_layout']
        for f in fastest:
            own = [r for r in results if r['config'] == f['config']
                   and r['runtime'] == f['runtime']]
            assert f['median_ms'] == min(r['median_ms'] for r in own)
        base_fastest = {(f['config'], f['runtime'], layout): f
                        for f in fastest for layout in layouts}
        check_rows(fastest, base_fastest, baselines, batch)
    check_comparison(report, baselines)


@pytest.mark.slow
def test_pytorch_with_family_baselines(tmp_path):
    out = tmp_path / 'speed.json'
    result = run_tool(MOBILE, EL_SMALL, *TINY, '--batch', '2', '--json',
                      str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    # MobilePoseNet against LiteHRNet-18, EL-HRNet against HRNet-W32, both
    # measured in the same run after the configs
    check_report(report, {MOBILE: LITEHRNET_18, EL_SMALL: HRNET_W32,
                          LITEHRNET_18: LITEHRNET_18,
                          HRNET_W32: HRNET_W32}, 2, 'pytorch', ['pytorch'])
    assert 'time: 100%' in result.stderr  # the progress bar
    table = result.stdout
    assert f'{report["machine"]["cores"]} cores' in table
    assert ('pytorch on cpu, batch 2, 1 thread(s), precision f32, fused: '
            'True, layouts: nchw, allocator: system') in table
    for r in report['results']:
        assert r['name'] in table
    assert "fastest layout" not in table


def test_both_layouts_and_retained_memory(tmp_path):
    out = tmp_path / 'speed.json'
    result = run_tool(MOBILE, *TINY, '--baseline', EL_SMALL, '--layout',
                      'both', '--allocator', 'retain', '--json', str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    check_report(report, {MOBILE: EL_SMALL, EL_SMALL: EL_SMALL}, 1,
                 'pytorch', ['pytorch'], layouts=('nchw', 'channels_last'),
                 allocator='retain')
    assert 'layouts: nchw, channels_last, allocator: retain' in result.stdout
    assert "each config's fastest layout" in result.stdout


def test_all_backends_and_markdown(tool, tmp_path, capsys):
    """Eager, ONNX Runtime and OpenVINO in one run; then the markdown
    tables rendered from its JSON into a marked file section."""
    pytest.importorskip('onnxruntime')
    pytest.importorskip('openvino')
    out = tmp_path / 'speed.json'
    result = run_tool(MOBILE, *TINY, '--backend', 'all', '--baseline',
                      EL_SMALL, '--json', str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    check_report(report, {MOBILE: EL_SMALL, EL_SMALL: EL_SMALL}, 1, 'all',
                 ['pytorch', 'onnxruntime', 'openvino'])
    assert report['machine']['openvino'] is not None
    assert 'realized/promised' in result.stdout
    doc = tmp_path / 'speed.md'
    doc.write_text(f'# Speed\n{BEGIN_MARK}\nold\n{END_MARK}\nkept\n')
    assert tool.main(['--markdown', str(doc), '--from-json', str(out),
                      str(out)]) == 0
    text = doc.read_text()
    assert 'old' not in text and text.endswith(f'{END_MARK}\nkept\n')
    assert '### Batch 1, 1 thread(s), f32, 2 run(s)' in text
    mobile = next(line for line in text.splitlines()
                  if line.startswith('| td-hm_mobileposenet'))
    ratio = report['comparison'][0]['best_vs_best']
    assert f'{ratio:.2f} / {ratio:.2f}' in mobile  # one per run
    assert 'rewrote the tables' in capsys.readouterr().out


@pytest.fixture(scope='module')
def tool():
    """The command line the script runs (tools/ only calls ``main``)."""
    return benchmark_speed


@pytest.mark.parametrize('args,message', [
    (['--runs', '0'], '--runs must be a positive integer'),
    (['--threads', '0'], '--threads must be a positive integer'),
    (['--threads', '-2'], '--threads must be a positive integer'),
    (['--warmup', '-1'], '--warmup must be >= 0'),
    (['--backend', 'tensorrt'],
     "argument --backend: invalid choice: 'tensorrt' (choose from "
     "'pytorch', 'onnxruntime', 'openvino', 'all')"),
    (['--precision', 'fp16'],
     "argument --precision: invalid choice: 'fp16' (choose from 'f32', "
     "'bf16')"),
    (['--precision', 'bf16', '--backend', 'all'],
     '--precision bf16: only --backend openvino'),
    (['--input-shape', '72', '64'], 'does not run at input 72x64'),
    (['--baseline', 'mmpose::nope.py'], 'mmpose config not found'),
    (['--json', '/nonexistent/dir/x.json'], '--json directory does not exist'),
    (['--layout', 'nhwc'], "invalid choice: 'nhwc'"),
    (['--layout', 'both', '--no-fuse'], 'drop --no-fuse or use --layout nchw'),
    (['--layout', 'channels_last', '--backend', 'onnxruntime'],
     'only the PyTorch runtime takes a layout'),
    (['--layout', 'both', '--backend', 'openvino'],
     'only the PyTorch runtime takes a layout'),
    (['--allocator', 'jemalloc'], "invalid choice: 'jemalloc'"),
    (['--markdown', 'missing.md'], '--markdown file not found: missing.md'),
    (['--from-json', 'a.json'], '--from-json renders earlier runs'),
    (['--pipeline', COCO_IMAGE], '--pipeline runs the exported model'),
    (['--pipeline-boxes', 'b.json'], '--pipeline-boxes needs --pipeline'),
    (['--backend', 'onnxruntime', '--pipeline', 'missing.jpg'],
     '--pipeline: cannot read image missing.jpg'),
    (['--backend', 'onnxruntime', '--pipeline', COCO_IMAGE,
      '--pipeline-boxes', 'missing.json'],
     '--pipeline: cannot read box file missing.json'),
])
def test_bad_arguments(tool, assert_usage_error, args, message):
    assert_usage_error(tool.main, [EL_SMALL, *args], message)


@pytest.mark.skipif(torch.cuda.is_available(), reason='CUDA is available')
def test_cuda_absent(tool, capsys):
    with pytest.raises(SystemExit):
        tool.main([EL_SMALL, '--device', 'cuda'])
    assert '--device cuda: CUDA is not available' in capsys.readouterr().err


def test_missing_openvino_names_the_extra(tool, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, 'openvino', None)
    with pytest.raises(SystemExit):
        tool.main([EL_SMALL, '--backend', 'openvino'])
    err = capsys.readouterr().err
    assert "--backend openvino: the optional package 'openvino'" in err
    assert 'pip install "elhrnet_mm[deploy]"' in err


def test_openvino_is_cpu_only(tool, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    with pytest.raises(SystemExit):
        tool.main([EL_SMALL, '--device', 'cuda', '--backend', 'all'])
    assert 'OpenVINO runs on the CPU here' in capsys.readouterr().err


def test_no_config(tool, capsys):
    with pytest.raises(SystemExit):
        tool.main([])
    assert 'give at least one CONFIG' in capsys.readouterr().err


def test_full_pipeline_latency_per_person(tmp_path):
    """``--pipeline``: the deployed pipeline (crop, model, decoding) timed
    on a real photograph with two person boxes, per graph runtime."""
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps(
        {'000000000785.jpg': [[280, 40, 500, 410], [10, 10, 200, 300]]}))
    out = tmp_path / 'run.json'
    result = run_tool(EL_SMALL, '--baseline', EL_SMALL, '--backend',
                      'onnxruntime', '--runs', '2', '--warmup', '1',
                      '--pipeline', COCO_IMAGE, '--pipeline-boxes',
                      str(boxes), '--json', str(out))
    assert result.returncode == 0, result.stderr
    assert 'deployed pose pipeline on' in result.stdout
    pipeline = json.loads(out.read_text())['pipeline']
    assert pipeline['boxes'] == str(boxes)
    [row] = pipeline['results']
    assert row['runtime'] == 'onnxruntime' and row['people'] == 2
    assert row['flip_test'] is True  # the config's test_cfg
    assert all(row[k] > 0 for k in ('preprocess', 'model', 'decode'))
    assert row['per_person'] == pytest.approx(row['total'] / 2)
