"""Papers' tables rendered from the data file (``analysis.paper_tables``)."""
import pytest

from elhrnet_mm.analysis.paper_tables import render_file, render_paper
from elhrnet_mm.analysis.published import load_published


def test_render_rows_and_links_from_the_data_file():
    md = render_paper('el-hrnet-sensors2024', load_published())
    assert md.count('**Table') == 3
    el_rows = [line for line in md.splitlines()
               if line.startswith('| EL-HRNet |')]
    assert len(el_rows) == 3
    assert '67.1' in el_rows[0] and '2.00 G' in el_rows[0]
    assert ('[td-hm_el-hrnet-w32_1xb8-210e_mpii-256x256]'
            '(./td-hm_el-hrnet-w32_1xb8-210e_mpii-256x256.py)') in el_rows[2]
    assert '87.7' in el_rows[2]


def test_render_file_replaces_only_the_blocks():
    text = ('x\n<!-- paper-tables:begin el-hrnet-sensors2024 -->\nstale\n'
            '<!-- paper-tables:end -->\ny\n')
    new = render_file(text, load_published())
    assert 'stale' not in new and '| EL-HRNet |' in new
    assert new.startswith('x\n') and new.endswith('y\n')
    assert render_file(new, load_published()) == new


def test_unknown_paper_is_an_error():
    with pytest.raises(ValueError, match='no-such-paper'):
        render_paper('no-such-paper', load_published())
