"""``tools/analysis_tools/paper_tables.py`` as a command (rendering:
tests/test_analysis/test_paper_tables_render.py)."""
import glob
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'paper_tables.py')


def _run(*argv):
    return subprocess.run([sys.executable, TOOL, *argv],
                          capture_output=True,
                          text=True)


def test_config_readmes_are_up_to_date():
    readmes = [
        p for p in sorted(glob.glob(osp.join(ROOT, 'configs', '*',
                                             'README.md')))
        if '<!-- paper-tables:begin' in open(p).read()
    ]
    assert osp.join(ROOT, 'configs', 'el_hrnet', 'README.md') in readmes
    ret = _run(*readmes, '--check')
    assert ret.returncode == 0, ret.stderr


def test_stale_block_is_detected_and_rewritten(tmp_path):
    doc = tmp_path / 'README.md'
    doc.write_text('x\n<!-- paper-tables:begin el-hrnet-sensors2024 -->\n'
                   'stale\n<!-- paper-tables:end -->\ny\n')
    ret = _run(str(doc), '--check')
    assert ret.returncode == 1 and 'README.md' in ret.stderr
    assert 'stale' in doc.read_text()
    assert _run(str(doc)).returncode == 0
    assert 'stale' not in doc.read_text() and '| EL-HRNet |' in doc.read_text()
