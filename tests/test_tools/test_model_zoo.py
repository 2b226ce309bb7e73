"""``tools/analysis_tools/model_zoo.py`` as a command (the rendering is
tested in tests/test_analysis/test_model_zoo_page.py)."""
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'model_zoo.py')


def _run(*argv):
    return subprocess.run([sys.executable, TOOL, *argv],
                          capture_output=True,
                          text=True,
                          cwd=ROOT)


def test_bad_arguments_exit_with_a_message():
    ret = _run('--check', '--jobs', '0')
    assert ret.returncode == 2
    assert '--jobs must be a positive integer, got 0' in ret.stderr


@pytest.mark.slow
def test_generated_files_are_up_to_date():
    """``make zoo`` leaves nothing to change (all configs measured)."""
    ret = _run('--check')
    assert ret.returncode == 0, ret.stderr[-3000:]
