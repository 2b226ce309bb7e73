"""The leaderboard's markdown (``elhrnet_mm.analysis.leaderboard_tables``).
"""
import glob
import os.path as osp

from elhrnet_mm.analysis.leaderboard_tables import BLOCK, render_tables
from elhrnet_mm.analysis.published import find_rows
from elhrnet_mm.analysis.speed_results import Latency, read_speed

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The speed files docs/leaderboard.md is rendered with (docs/leaderboard.md
#: names the command): the repeated batch-1 runs over every runtime.
SPEED = sorted(
    glob.glob(osp.join(ROOT, 'docs', 'speed', 'cpu_batch1_all_run*.json')))
EL_COCO = 'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192'


def rows_of(text, first_cell):
    return [
        line.strip()[2:-2].split(' | ') for line in text.splitlines()
        if line.startswith(f'| {first_cell} |')
    ]


def test_paper_rows_with_the_best_runtime():
    latency = {EL_COCO: Latency({'pytorch': 140.9, 'onnxruntime': 99.5})}
    table = render_tables([], latency)
    for dataset in ('coco-val2017', 'mpii-val', 'crowdpose-test'):
        assert f'(`{dataset}`)' in table
    (head, *_) = rows_of(table, 'config')
    assert head[5] == 'latency, best runtime (ms)'
    (paper, ) = find_rows(config_name=EL_COCO, dataset='coco-val2017')
    (row, ) = [r for r in rows_of(table, EL_COCO) if r[5] != '-']
    assert row[1] == 'EL-HRNet: el-hrnet-sensors2024 Table 2'
    assert row[3:5] == ['5.0 M', '2.00 G [hrnet-paper]']
    assert row[5] == '99.5 (onnxruntime)'
    assert row[6] == f"{paper['metrics']['AP']:.1f}"
    assert '**ours**' not in table


def test_the_committed_page_is_what_the_tool_renders_now():
    """docs/leaderboard.md: no results of ours, the committed CPU batch-1
    speed files of docs/speed/."""
    assert SPEED, 'docs/speed/cpu_batch1_all_run*.json'
    with open(osp.join(ROOT, 'docs', 'leaderboard.md')) as file:
        block = BLOCK.content(file.read())
    assert block == render_tables([], read_speed(SPEED)) + '\n'
