import glob
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'paper_tables.py')
sys.path.insert(0, osp.dirname(TOOL))
import paper_tables  # noqa: E402

from elhrnet_mm.published import load_published  # noqa: E402


def test_config_readmes_are_up_to_date():
    readmes = [
        p for p in sorted(glob.glob(osp.join(ROOT, 'configs', '*',
                                             'README.md')))
        if '<!-- paper-tables:begin' in open(p).read()
    ]
    assert osp.join(ROOT, 'configs', 'el_hrnet', 'README.md') in readmes
    ret = subprocess.run([sys.executable, TOOL, *readmes, '--check'],
                         capture_output=True, text=True)
    assert ret.returncode == 0, ret.stderr


def test_render_rows_and_links_from_the_data_file():
    md = paper_tables.render_paper('el-hrnet-sensors2024', load_published())
    assert md.count('**Table') == 3
    el_rows = [line for line in md.splitlines()
               if line.startswith('| EL-HRNet |')]
    assert len(el_rows) == 3
    assert '67.1' in el_rows[0] and '2.00 G' in el_rows[0]
    assert ('[td-hm_el-hrnet-w32_1xb8-210e_mpii-256x256]'
            '(./td-hm_el-hrnet-w32_1xb8-210e_mpii-256x256.py)') in el_rows[2]
    assert '87.7' in el_rows[2]


def test_stale_block_is_detected_and_rewritten(tmp_path):
    doc = tmp_path / 'README.md'
    doc.write_text('x\n<!-- paper-tables:begin el-hrnet-sensors2024 -->\n'
                   'stale\n<!-- paper-tables:end -->\ny\n')
    assert paper_tables.main([str(doc), '--check']) == 1
    assert 'stale' in doc.read_text()
    assert paper_tables.main([str(doc)]) == 0
    text = doc.read_text()
    assert 'stale' not in text and '| EL-HRNet |' in text
    assert text.startswith('x\n') and text.endswith('y\n')
    assert paper_tables.main([str(doc), '--check']) == 0


def test_unknown_paper_is_an_error():
    with pytest.raises(ValueError, match='no-such-paper'):
        paper_tables.render_paper('no-such-paper', load_published())
