"""``tools/leaderboard.py`` on a genuine ``tools/test.py`` run.

The run evaluates the tiny EL-HRNet config (untrained weights) on the
synthetic COCO data (tests/conftest.py's ``tiny_coco``). Its config file is
named like our EL-HRNet COCO config, so the leaderboard finds that config's
paper rows by name (the one it dumps into the work dir) while counting the
tiny model that was actually evaluated.
"""
import json
import os
import os.path as osp
import shutil
import sys

import pytest
import torch
from mmengine.config import Config

from elhrnet_mm.published import find_rows

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark_speed  # noqa: E402
import leaderboard  # noqa: E402
import tiny_run  # noqa: E402

EL_COCO = 'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192'
TEST = osp.join(ROOT, 'tools', 'test.py')


@pytest.fixture(scope='module')
def tiny_result(tiny_coco, tmp_path_factory):
    """(work dir, config) of one tools/test.py run of an untrained model."""
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules
    register_all_modules()
    tmp = tmp_path_factory.mktemp('leaderboard')
    config = tiny_run.write_config(tmp / f'{EL_COCO}.py', tiny_coco)
    model = MODELS.build(Config.fromfile(config).model)
    checkpoint = str(tmp / 'untrained.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    work_dir = tmp / 'work_dir'
    code, out = tiny_run.run([
        sys.executable, TEST, config, checkpoint, '--work-dir',
        str(work_dir)
    ])
    assert code == 0, out[-3000:]
    return str(work_dir), config


@pytest.fixture
def doc(tmp_path):
    path = tmp_path / 'leaderboard.md'
    block = leaderboard.BLOCK
    path.write_text(f'# x\n{block.begin}\nold\n{block.end}\n')
    return path


def speed_file(path, **median_ms):
    """A benchmark_speed.py --json file of one median per name, or of a
    [NCHW, channels_last] pair per name (``--layout both``: then with the
    tool's own ``fastest_layout`` rows, the first name the baseline)."""
    layouts = ('nchw', 'channels_last')
    results = [{
        'config': f'configs/x/{name}.py',
        'name': name,
        'layout': layout,
        'input_shape': [1, 3, 256, 192],
        'median_ms': ms,
        'min_ms': ms,
        'max_ms': ms,
        'images_per_s': 1000 / ms,
        'latency_ratio': 1.0,
        'speedup': 1.0
    } for name, values in median_ms.items()
        for layout, ms in zip(layouts, values if isinstance(values, list)
                              else [values])]
    report = {
        'machine': {
            'cpu': 'test',
            'cores': 2,
            'platform': 'linux',
            'python': '3.11',
            'torch': '2.13',
            'onnxruntime': None
        },
        'settings': {
            'batch': 1,
            'threads': 1,
            'device': 'cpu',
            'backend': 'pytorch',
            'fuse': True,
            'layouts': sorted({r['layout'] for r in results}),
            'allocator': 'system',
            'warmup': 1,
            'runs': 3
        },
        'baseline': results[0]['config'],
        'results': results
    }
    if len(report['settings']['layouts']) > 1:
        report['fastest_layout'] = benchmark_speed.fastest_layouts(
            results, report['baseline'], batch=1)
    path.write_text(json.dumps(report))
    return str(path)


def table_rows(text, first_cell):
    return [
        line.strip()[2:-2].split(' | ') for line in text.splitlines()
        if line.startswith(f'| {first_cell} |')
    ]


def test_genuine_run_beside_the_paper_rows(tiny_result, doc, tmp_path):
    work_dir, config = tiny_result
    (log, ) = [
        osp.join(dp, f) for dp, _, fs in os.walk(work_dir) for f in fs
        if f.endswith('.json')
    ]
    with open(log) as file:
        logged = json.load(file)
    speed = speed_file(tmp_path / 'speed.json', **{EL_COCO: 12.5})
    plot = tmp_path / 'figures' / 'pareto.png'
    assert leaderboard.main([
        work_dir, f'{config}={log}', '--speed', speed, '--output',
        str(doc), '--plot',
        str(plot)
    ]) == 0
    text = doc.read_text()
    assert text.startswith('# x\n') and 'old' not in text
    head = table_rows(text, 'config')[0]
    metrics = head[6:]
    assert metrics[:6] == ['AP', 'AP50', 'AP75', 'APM', 'APL', 'AR']
    # the paper's EL-HRNet COCO val row, as in the data file
    (paper, ) = find_rows(config_name=EL_COCO, dataset='coco-val2017')
    (row, ) = [
        r for r in table_rows(text, EL_COCO) if r[1].startswith('EL-HRNet: ')
    ]
    assert row[6:] == [f"{paper['metrics'][m]:.1f}" for m in metrics]
    assert row[5] == '12.5'
    # ours twice (work dir and CONFIG=RESULT), numbers from the mmengine log
    ours = table_rows(text, f'**{EL_COCO}**')
    assert len(ours) == 2
    names = {
        'AP': 'AP',
        'AP50': 'AP .5',
        'AP75': 'AP .75',
        'APM': 'AP (M)',
        'APL': 'AP (L)',
        'AR': 'AR'
    }
    for cells in ours:
        assert cells[1] == f'**ours**: `{log}`'
        assert cells[2] == '64x48'  # the tiny model that was evaluated
        assert cells[6:] == [
            f"{logged['coco/' + names[m]] * 100:.1f}" for m in metrics
        ]
    assert open(plot, 'rb').read(8) == b'\x89PNG\r\n\x1a\n'
    import matplotlib.image
    image = matplotlib.image.imread(str(plot))
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_metric_columns_follow_the_log(tiny_result, tmp_path):
    """Distinct values in a copy of the genuine log land in their columns."""
    work_dir, _ = tiny_result
    copy = tmp_path / 'work_dir'
    shutil.copytree(work_dir, copy)
    (log, ) = copy.glob('*/*.json')
    logged = json.loads(log.read_text())
    for index, key in enumerate(k for k in logged if k.startswith('coco/')):
        logged[key] = round(0.5 + index / 100, 4)
    log.write_text(json.dumps(logged))
    dataset, metrics = leaderboard.read_metrics(str(log))
    assert dataset == 'coco-val2017'
    assert metrics['AP'] == pytest.approx(logged['coco/AP'] * 100)
    assert metrics['APL'] == pytest.approx(logged['coco/AP (L)'] * 100)
    assert metrics['ARL'] == pytest.approx(logged['coco/AR (L)'] * 100)
    (result, ) = leaderboard.collect([str(copy)])
    assert result['name'] == EL_COCO and result['metrics'] == metrics
    table = leaderboard.render_tables([result], {})
    (row, ) = table_rows(table, f'**{EL_COCO}**')
    assert row[6:12] == [
        f'{metrics[m]:.1f}' for m in ('AP', 'AP50', 'AP75', 'APM', 'APL', 'AR')
    ]


@pytest.mark.parametrize('logged, dataset, expected', [
    ({
        'Head PCK': 97.0,
        'Shoulder PCK': 95.5,
        'Elbow PCK': 88.0,
        'Wrist PCK': 82.5,
        'Hip PCK': 88.0,
        'Knee PCK': 83.5,
        'Ankle PCK': 79.0,
        'PCK': 88.25,
        'PCK@0.1': 33.0,
        'time': 0.1
    }, 'mpii-val', {
        'Head': 97.0,
        'Mean': 88.25,
        'Mean@0.1': 33.0
    }),
    ({
        'crowdpose/AP': 0.625,
        'crowdpose/AP .5': 0.8,
        'crowdpose/AP(E)': 0.7,
        'crowdpose/AP(H)': 0.5,
        'crowdpose/AR': 0.7,
        'data_time': 0.1
    }, 'crowdpose-test', {
        'AP': 62.5,
        'APE': 70.0,
        'APH': 50.0
    }),
])
def test_other_datasets(tmp_path, logged, dataset, expected):
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps(logged))
    found, metrics = leaderboard.read_metrics(str(path))
    assert found == dataset
    assert {k: metrics[k] for k in expected} == pytest.approx(expected)


def test_without_results_the_doc_holds_the_paper_rows():
    """docs/leaderboard.md is what the tool renders without results and
    with the committed CPU speed measurement (docs/speed/)."""
    with open(osp.join(ROOT, 'docs', 'leaderboard.md')) as file:
        block = leaderboard.BLOCK.content(file.read())
    latency = leaderboard.read_speed(
        [osp.join(ROOT, 'docs', 'speed', 'cpu_batch1_pytorch.json')])
    assert latency
    assert block == leaderboard.render_tables([], latency) + '\n'
    assert '**ours**' not in block
    for dataset in ('coco-val2017', 'mpii-val', 'crowdpose-test'):
        assert f'(`{dataset}`)' in block


def test_read_speed_keeps_the_fastest_layout_and_the_last_file(tmp_path):
    first = speed_file(tmp_path / 'a.json', m=[30.0, 20.0], n=[5.0, 9.0],
                       o=[7.0, 7.5])
    second = speed_file(tmp_path / 'b.json', o=[8.0, 6.5])
    assert leaderboard.read_speed([first]) == dict(m=20.0, n=5.0, o=7.0)
    assert leaderboard.read_speed([first, second]) == dict(m=20.0, n=5.0,
                                                           o=6.5)


def _error(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        leaderboard.main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_clear_errors(tiny_result, doc, tmp_path, capsys):
    work_dir, config = tiny_result
    out = ['--output', str(doc)]
    assert 'no-such: result not found' in _error(capsys, ['no-such'] + out)
    garbage = tmp_path / 'garbage.json'
    garbage.write_text('{not json')
    assert 'cannot read the result' in _error(capsys,
                                              [f'{config}={garbage}'] + out)
    unknown = tmp_path / 'unknown.json'
    unknown.write_text(json.dumps({'foo/AP': 0.5}))
    err = _error(capsys, [f'{config}={unknown}'] + out)
    assert "unknown metric name(s) ['foo/AP']" in err and 'coco/AP' in err
    mixed = tmp_path / 'mixed.json'
    mixed.write_text(json.dumps({'coco/AP': 0.5, 'coco/APx': 0.1}))
    assert "unknown metric name(s) ['coco/APx'] for coco-val2017" in _error(
        capsys, [f'{config}={mixed}'] + out)
    orphan = tmp_path / 'orphan'
    orphan.mkdir()
    (orphan / 'metrics.json').write_text(json.dumps({'coco/AP': 0.5}))
    assert 'cannot tell which config was evaluated' in _error(
        capsys, [str(orphan / 'metrics.json')] + out)
    assert 'no <timestamp>/<timestamp>.json' in _error(capsys,
                                                       [str(orphan)] + out)
    assert 'missing.py: config file not found' in _error(
        capsys, [f'missing.py={work_dir}'] + out)
    bad_speed = tmp_path / 'speed.json'
    bad_speed.write_text(json.dumps({'results': [{'name': 'x'}]}))
    assert 'not a benchmark_speed.py --json file' in _error(
        capsys, ['--speed', str(bad_speed)] + out)
    plain = tmp_path / 'plain.md'
    plain.write_text('# no markers\n')
    assert 'no block between' in _error(capsys, ['--output', str(plain)])
    assert 'must end in .png' in _error(capsys, out + ['--plot', 'x.jpg'])
