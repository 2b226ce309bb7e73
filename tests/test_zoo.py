import os
import os.path as osp

import pytest

from elhrnet_mm.zoo import configs_root, shipped_configs

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_shipped_configs_are_the_td_hm_configs_of_every_collection():
    paths = shipped_configs()
    names = [osp.relpath(p, configs_root()) for p in paths]
    assert paths == sorted(paths)
    assert {n.split(osp.sep)[0] for n in names} == {
        'cbam_litehrnet', 'dite_hrnet', 'edite_hrnet', 'el_hrnet',
        'mobileposenet', 'quickstart'
    }
    assert all(osp.basename(n).startswith('td-hm_') for n in names)
    on_disk = {
        osp.relpath(osp.join(d, f), osp.join(ROOT, 'configs'))
        for d, _, files in os.walk(osp.join(ROOT, 'configs'))
        for f in files if f.endswith('.py')
    }
    base_fragments = {n for n in on_disk if n.split(osp.sep)[0] == '_base_'}
    assert base_fragments == {osp.join('_base_', 'default_runtime.py')}
    assert set(names) == on_disk - base_fragments


def test_one_collection_and_unknown_collection():
    el = shipped_configs('el_hrnet')
    assert el and all(osp.sep + 'el_hrnet' + osp.sep in p for p in el)
    with pytest.raises(ValueError, match=r"'nope'.*allowed: .*el_hrnet"):
        shipped_configs('nope')
