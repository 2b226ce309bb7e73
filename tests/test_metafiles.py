"""MIM metadata: model-index.yml, configs/*/metafile.yml, their READMEs.

The FLOPs/Parameters values are checked against a measurement by
tests/test_tools/test_model_zoo.py; here: structure, coverage, what
``mim search`` makes of it, and each collection's citation.
"""
import glob
import json
import os.path as osp
import re
import subprocess
import sys

import pytest
import yaml

from elhrnet_mm.analysis.published import config_stem
from elhrnet_mm.zoo import shipped_configs

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MIM = osp.join(osp.dirname(sys.executable), 'mim')
COLLECTIONS = sorted(
    osp.basename(osp.dirname(p))
    for p in glob.glob(osp.join(ROOT, 'configs', '*', 'td-hm_*.py')))


def load(path):
    with open(osp.join(ROOT, path)) as file:
        return yaml.safe_load(file)


def shipped_paths():
    root = osp.realpath(osp.join(ROOT, 'configs'))
    return sorted('configs/' + osp.relpath(osp.realpath(p), root)
                  for p in shipped_configs())


def test_model_index_imports_one_metafile_per_collection():
    imports = load('model-index.yml')['Import']
    assert sorted(imports) == sorted(f'configs/{c}/metafile.yml'
                                     for c in set(COLLECTIONS))
    mim_index = osp.join(ROOT, 'elhrnet_mm', '.mim', 'model-index.yml')
    assert osp.realpath(mim_index) == osp.realpath(
        osp.join(ROOT, 'model-index.yml'))


@pytest.mark.parametrize('collection', sorted(set(COLLECTIONS)))
def test_metafile(collection):
    data = load(f'configs/{collection}/metafile.yml')
    (coll, ) = data['Collections']
    assert coll['Paper']['Title']
    assert osp.isfile(osp.join(ROOT, coll['README']))
    assert osp.isfile(osp.join(ROOT, coll['Code']['URL']))
    for model in data['Models']:
        assert model['In Collection'] == coll['Name']
        assert osp.isfile(osp.join(ROOT, model['Config'])), model['Name']
        assert model['Name'] == config_stem(model['Config'])
        assert model['Config'].startswith(f'configs/{collection}/')
        for field in ('FLOPs', 'Parameters'):
            value = model['Metadata'][field]
            assert isinstance(value, int) and value > 0, (model['Name'], field)


def test_every_shipped_config_has_one_model_entry():
    listed = sorted(m['Config'] for c in set(COLLECTIONS)
                    for m in load(f'configs/{c}/metafile.yml')['Models'])
    assert listed == shipped_paths()


def test_mim_search_lists_every_model_with_its_config(tmp_path):
    out = tmp_path / 'search.json'
    ret = subprocess.run([MIM, 'search', 'elhrnet_mm', '--json',
                          str(out)],
                         capture_output=True,
                         text=True,
                         cwd=tmp_path)
    assert ret.returncode == 0, ret.stdout + ret.stderr
    columns = json.loads(out.read_text())  # {field: {config id: value}}
    found = {
        name: {
            field: values.get(name)
            for field, values in columns.items()
        }
        for name in columns['config']
    }
    assert sorted(found) == sorted(config_stem(p) for p in shipped_paths())
    for name, info in found.items():
        assert info['config'].endswith(f'/{name}.py'), name
        assert info['flops'] > 0 and info['parameters'] > 0, name
        assert info['readme'].endswith('README.md'), name
    # the plain listing, as a user sees it
    ret = subprocess.run([MIM, 'search', 'elhrnet_mm'],
                         capture_output=True,
                         text=True,
                         cwd=tmp_path)
    assert ret.returncode == 0, ret.stderr
    assert ret.stdout.count('config id: ') == len(found)


@pytest.mark.parametrize('collection', sorted(set(COLLECTIONS)))
def test_readme_has_bibtex(collection):
    with open(osp.join(ROOT, 'configs', collection, 'README.md')) as file:
        text = file.read()
    bibtex = re.search(r'```bibtex\n(.*?)```', text, re.S)
    assert bibtex, 'no ```bibtex block'
    entry = bibtex.group(1)
    assert re.search(r'^\s*title\s*=', entry, re.M)
    if not re.search(r'^\s*author\s*=', entry, re.M):
        # authors are never invented: the entry says they are not printed
        assert re.search(r'not printed|not in the project', entry), entry
