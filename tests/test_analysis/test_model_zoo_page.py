"""The model-zoo page and metafiles (``elhrnet_mm.analysis.model_zoo``).

The full regeneration measures all shipped configs (minutes): that is the
tool's slow ``--check`` (tests/test_tools/test_model_zoo.py); these tests
check the committed files' structure and re-measure one small config.
"""
import os.path as osp
import re

import pytest
import yaml

from elhrnet_mm.analysis import model_zoo
from elhrnet_mm.analysis.counters import TorchstatCount
from elhrnet_mm.analysis.published import config_stem
from elhrnet_mm.analysis.report import (ComplexityReport, FlopsCounts,
                                        HRNetReference)
from elhrnet_mm.zoo import shipped_configs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(ROOT, 'docs', 'model_zoo.md')

QUICKSTART = 'quickstart/td-hm_el-hrnet-w32-small_1xb32-8e_synthcoco-128x96.py'


def doc_rows():
    """{config key: cells} of the generated block of docs/model_zoo.md."""
    with open(DOC) as file:
        block = model_zoo.BLOCK.content(file.read())
    rows = {}
    for line in block.splitlines():
        link = re.match(r'\| \[[^]]+\]\(\.\./configs/([^)]+)\)', line)
        if link:
            rows[link.group(1)] = line.strip()[2:-2].split(' | ')
    return rows


def metafile_models():
    """{config key: Models entry} over every collection's metafile."""
    models = {}
    for config in shipped_configs():
        path = model_zoo.metafile_of(
            model_zoo.config_key(config).split('/')[0])
        with open(path) as file:
            for model in yaml.safe_load(file)['Models']:
                models[model['Config'].split('configs/', 1)[1]] = model
    return models


def test_doc_and_metafiles_list_every_shipped_config_once():
    keys = [model_zoo.config_key(c) for c in shipped_configs()]
    assert QUICKSTART in keys
    model_zoo.check_coverage(keys)
    assert sorted(doc_rows()) == sorted(keys)
    assert sorted(metafile_models()) == sorted(keys)


def test_doc_and_metafiles_agree():
    """The two outputs of one generation carry the same numbers."""
    models = metafile_models()
    for key, cells in doc_rows().items():
        meta = models[key]['Metadata']
        assert isinstance(meta['FLOPs'], int), key
        assert isinstance(meta['Parameters'], int), key
        assert cells[2] == f"{meta['Parameters'] / 1e6:.3f}", key
        assert cells[3] == f"{meta['FLOPs'] / 1e9:.3f}", key


def test_one_config_matches_what_the_tool_computes_now():
    config = osp.join(model_zoo.configs_root(), QUICKSTART)
    reports = model_zoo.measure_zoo([config])
    (row, ) = [
        line for line in model_zoo.render_table(reports).splitlines()
        if 'synthcoco' in line
    ]
    with open(DOC) as file:
        assert row in file.read().splitlines()
    path = model_zoo.metafile_of('quickstart')
    with open(path) as file:
        text = file.read()
    assert model_zoo.render_metafile(text, reports, path) == text


def test_torchstat_deviation_in_the_table():
    """EDite-HRNet rows (torchstat, binary G) are compared."""
    cells = doc_rows()['edite_hrnet/td-hm_edite-hrnet-l_1xb32-270e_coco-'
                       '384x288.py']
    assert re.search(r'\[torchstat-binary\] \([+-]\d+\.\d%\)', cells[7])
    assert cells[8].endswith(' G')


def _fake_report(params, flops):
    return ComplexityReport(
        config='x.py', input_hw=(64, 48), num_keypoints=17, params=params,
        flops=FlopsCounts(flops, flops, flops, None, None),
        torchstat=TorchstatCount(flops, params, ()),
        hrnet_reference=HRNetReference('mmpose::hrnet', 17, 'conv_macs', None,
                                       None),
        paper=(), paper_other_sizes=())


METAFILE = """Collections:
  - Name: X
    Metadata:
      Training Data: [COCO]

Models:
  - Name: a
    In Collection: X
    Config: configs/x/a.py
    Metadata:
      FLOPs: 1
      Training Data: COCO
  - Name: b
    In Collection: X
    Config: configs/x/b.py
    Metadata:
      Training Data: COCO
"""


def test_render_metafile_sets_cost_and_is_idempotent():
    reports = {'x/a.py': _fake_report(11, 22), 'x/b.py': _fake_report(33, 44)}
    text = model_zoo.render_metafile(METAFILE, reports, 'm.yml')
    models = {m['Name']: m['Metadata'] for m in yaml.safe_load(text)['Models']}
    assert models == {
        'a': {
            'FLOPs': 22,
            'Parameters': 11,
            'Training Data': 'COCO'
        },
        'b': {
            'FLOPs': 44,
            'Parameters': 33,
            'Training Data': 'COCO'
        }
    }
    assert yaml.safe_load(text)['Collections'] == yaml.safe_load(
        METAFILE)['Collections']
    assert model_zoo.render_metafile(text, reports, 'm.yml') == text


@pytest.mark.parametrize('text, keys, message', [
    (METAFILE, ['x/a.py'
                ], "model b: no measurement for its Config 'configs/x/b.py'"),
    (METAFILE.replace('    Metadata:\n      Training Data: COCO\n',
                      ''), ['x/a.py', 'x/b.py'], 'model b: no Metadata'),
    ('Collections: []\n', [], 'no "Models:" section'),
])
def test_render_metafile_errors(text, keys, message):
    reports = {key: _fake_report(1, 2) for key in keys}
    with pytest.raises(ValueError, match=re.escape(message)):
        model_zoo.render_metafile(text, reports, 'm.yml')


def test_doc_without_markers_is_an_error():
    with pytest.raises(ValueError, match='no block between'):
        model_zoo.render_doc('# zoo\n', 'table', 'zoo.md')


def test_metafile_flops_are_what_the_metafiles_say():
    flops = model_zoo.metafile_flops()
    models = metafile_models()
    assert sorted(flops) == sorted(config_stem(k) for k in models)
    for key, model in models.items():
        assert flops[config_stem(key)] == model['Metadata']['FLOPs']


def test_jobs_must_be_positive():
    with pytest.raises(ValueError, match='jobs must be a positive integer'):
        model_zoo.measure_zoo([], jobs=0)
