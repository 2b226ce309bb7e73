"""``tools/leaderboard.py`` on a genuine ``tools/test.py`` run, as a command.

The run evaluates the tiny EL-HRNet config (untrained weights) on the
synthetic COCO data (tests/conftest.py's ``tiny_coco``). Its config file is
named like our EL-HRNet COCO config, so the leaderboard finds that config's
paper rows by name (the one it dumps into the work dir) while counting the
tiny model that was actually evaluated. The pieces are tested in
tests/test_analysis/ (eval_results, speed_results, leaderboard_tables,
pareto_plot).
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import tiny_run
from elhrnet_mm.analysis.leaderboard_tables import BLOCK
from elhrnet_mm.analysis.published import find_rows

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'leaderboard.py')
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
    path.write_text(f'# x\n{BLOCK.begin}\nold\n{BLOCK.end}\n')
    return path


def speed_file(path, runtime, **median_ms):
    """A benchmark_speed.py --json file of one median per config name."""
    path.write_text(json.dumps({
        'settings': {'batch': 1, 'backend': runtime},
        'results': [{'name': name, 'median_ms': ms, 'runtime': runtime}
                    for name, ms in median_ms.items()]
    }))
    return str(path)


def table_rows(text, first_cell):
    return [
        line.strip()[2:-2].split(' | ') for line in text.splitlines()
        if line.startswith(f'| {first_cell} |')
    ]


def _run(*argv):
    return subprocess.run([sys.executable, TOOL, *argv],
                          capture_output=True,
                          text=True,
                          cwd=ROOT)


def test_genuine_run_beside_the_paper_rows(tiny_result, doc, tmp_path):
    work_dir, config = tiny_result
    (log, ) = [
        osp.join(dp, f) for dp, _, fs in os.walk(work_dir) for f in fs
        if f.endswith('.json')
    ]
    with open(log) as file:
        logged = json.load(file)
    speeds = [
        speed_file(tmp_path / 'pt.json', 'pytorch', **{EL_COCO: 12.5}),
        speed_file(tmp_path / 'ort.json', 'onnxruntime', **{EL_COCO: 9.25})
    ]
    plot = tmp_path / 'figures' / 'pareto.png'
    ret = _run(work_dir, f'{config}={log}', '--speed', *speeds, '--output',
               str(doc), '--plot', str(plot))
    assert ret.returncode == 0, ret.stderr[-3000:]
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
    assert row[5] == '9.2 (onnxruntime)'  # the best of the two runtimes
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


def test_bad_arguments_exit_with_a_message(doc, tmp_path):
    ret = _run('--output', str(doc), '--plot', 'x.jpg')
    assert ret.returncode == 2 and 'must end in .png' in ret.stderr
