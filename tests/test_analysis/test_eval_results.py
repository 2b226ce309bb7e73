"""Evaluation results (``elhrnet_mm.analysis.eval_results``).

The files here have the layout MMEngine leaves (``<work_dir>/<timestamp>/
<timestamp>.json``, the config dumped as ``<work_dir>/<name>.py``); the
genuine ``tools/test.py`` run is tests/test_tools/test_leaderboard.py's.
"""
import json
from pathlib import Path

import pytest
from mmengine.config import Config

from elhrnet_mm.analysis.eval_results import (ResultError, collect,
                                              read_metrics, resolve)

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / 'tests' / 'data' / 'tiny_elhrnet_config.py'
EL_COCO = 'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192'
COCO_LOG = {
    'coco/AP': 0.5, 'coco/AP .5': 0.51, 'coco/AP .75': 0.52,
    'coco/AP (M)': 0.53, 'coco/AP (L)': 0.54, 'coco/AR': 0.55,
    'coco/AR .5': 0.56, 'coco/AR .75': 0.57, 'coco/AR (M)': 0.58,
    'coco/AR (L)': 0.59, 'data_time': 0.1, 'time': 0.2
}


def work_dir(tmp_path, name=EL_COCO, log=COCO_LOG, dump=True):
    """A work dir as tools/test.py leaves it (two runs, the later wins)."""
    root = tmp_path / name
    for stamp, values in (('20260101_000000', {'coco/AP': 0.1}),
                          ('20260102_000000', log)):
        (root / stamp).mkdir(parents=True)
        (root / stamp / f'{stamp}.json').write_text(json.dumps(values))
    if dump:
        Config.fromfile(str(TINY)).dump(str(root / f'{name}.py'))
    return root


def test_work_dir_latest_run_and_dumped_config(tmp_path):
    result = resolve(str(work_dir(tmp_path)))
    assert result.result.endswith('20260102_000000.json')
    assert result.config.endswith(f'{EL_COCO}.py') and result.name == EL_COCO
    assert result.dataset == 'coco-val2017'
    assert result.metrics['AP'] == 50.0
    assert result.metrics['ARL'] == pytest.approx(59.0)
    assert 'time' not in result.metrics


def test_config_equals_result(tmp_path):
    root = work_dir(tmp_path, dump=False)
    log = next(root.glob('20260102_000000/*.json'))
    result = resolve(f'{TINY}={log}')
    assert result.config == str(TINY) and result.name == TINY.stem


def test_collect_counts_each_config_once(tmp_path):
    root = work_dir(tmp_path)
    log = next(root.glob('20260102_000000/*.json'))
    first, second = collect([str(root), str(log)], str(tmp_path))
    assert first.label == f'{EL_COCO}/20260102_000000/20260102_000000.json'
    assert first.report is second.report
    assert first.report.input_hw == (64, 48)  # the tiny model evaluated


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
    found, metrics = read_metrics(str(path))
    assert found == dataset
    assert {k: metrics[k] for k in expected} == pytest.approx(expected)


def test_clear_errors(tmp_path):
    def error(argument):
        with pytest.raises(ResultError) as info:
            resolve(argument)
        return str(info.value)

    garbage = tmp_path / 'garbage.json'
    garbage.write_text('{not json')
    assert 'cannot read the result' in error(f'{TINY}={garbage}')
    unknown = tmp_path / 'unknown.json'
    unknown.write_text(json.dumps({'foo/AP': 0.5}))
    message = error(f'{TINY}={unknown}')
    assert "unknown metric name(s) ['foo/AP']" in message
    assert 'coco/AP' in message
    mixed = tmp_path / 'mixed.json'
    mixed.write_text(json.dumps({'coco/AP': 0.5, 'coco/APx': 0.1}))
    assert "unknown metric name(s) ['coco/APx'] for coco-val2017" in error(
        f'{TINY}={mixed}')
    orphan = tmp_path / 'orphan'
    orphan.mkdir()
    (orphan / 'metrics.json').write_text(json.dumps({'coco/AP': 0.5}))
    assert 'cannot tell which config was evaluated' in error(
        str(orphan / 'metrics.json'))
    assert 'no <timestamp>/<timestamp>.json' in error(str(orphan))
    assert 'no-such: result not found' in error('no-such')
    assert 'missing.py: config file not found' in error(
        f'missing.py={orphan}')
