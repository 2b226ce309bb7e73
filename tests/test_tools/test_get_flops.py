"""``tools/analysis_tools/get_flops.py`` as a command: the table, errors.

What it computes (and ``--json``'s layout, ``ComplexityReport.to_json``)
is tested in tests/test_analysis/; here the tool runs as users run it. The config inherits MMPose's LiteHRNet-18
and is named like our EL-HRNet COCO config, so the EL-HRNet rows show.
"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'analysis_tools' / 'get_flops.py'
EL_COCO = 'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192'
LITE18 = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
          'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')


@pytest.fixture(scope='module')
def config(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('cfg') / f'{EL_COCO}.py'
    path.write_text(f"_base_ = '{LITE18}'\n"
                    "custom_imports = dict(imports=['elhrnet_mm'])\n")
    return str(path)


def _run(*argv):
    return subprocess.run([sys.executable, str(TOOL), *argv],
                          capture_output=True,
                          text=True,
                          cwd=ROOT)


def test_table_beside_the_paper_rows(config):
    result = _run(config)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert 'input:  1 x 3 x 256 x 192 (N x C x H x W), 17 keypoints' in out
    assert 'el-hrnet-sensors2024 Table 2, Table 3 (coco-val2017' in out
    assert '1.131 M' in out and '5.0 M (' in out  # ours, the paper's
    (line, ) = [l for l in out.splitlines() if l.startswith('FLOPs, HRNet')]
    assert '2.00 G [hrnet-paper] (' in line  # beside the paper-scale count
    assert '205.2 M' in out  # torchstat, binary
    assert 'every module that ran has a counting rule' in out
    assert 'published 7.1 GFLOPs' in out


def test_bad_arguments_exit_with_a_message(config):
    missing = _run('missing.py', '--json')
    assert missing.returncode == 2 and missing.stdout == ''
    assert 'config file not found: missing.py' in missing.stderr
