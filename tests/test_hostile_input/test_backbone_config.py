"""Unknown keys and wrong types in a config's backbone dict: a ValueError
naming the field and what is allowed, before anything is built (Python's own
``TypeError: __init__() got an unexpected keyword argument`` names no
alternative and comes from deep inside the Runner)."""
import copy
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

import elhrnet_mm  # noqa: F401  (registers the backbones)
from elhrnet_mm.utils.config_check import check_backbone_cfg, check_init_kwargs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'data', 'tiny_elhrnet_config.py')


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(TINY)


def with_backbone(cfg, **changes):
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.update(changes)
    return cfg


CASES = {
    'unknown key': (dict(foo=1), r"model.backbone: ELHRNet has no argument"
                    r"\(s\) \['foo'\]; allowed: \['extra', 'in_channels'"),
    'str for int': (dict(in_channels='3'),
                    r"model.backbone.in_channels = '3' \(str\) does not fit "
                    'ELHRNet; allowed: int'),
    'int for bool': (dict(norm_eval=1), 'norm_eval = 1 .*allowed: bool'),
    'bool for int': (dict(frozen_stages=True),
                     'frozen_stages = True .*allowed: int'),
    'list for dict': (dict(extra=[1, 2]), 'extra = .*allowed: dict'),
    'None for dict': (dict(norm_cfg=None), 'norm_cfg = None .*allowed: dict'),
    'str for Optional[dict]': (dict(block_cfg='groups=2'),
                               'block_cfg = .*allowed: Optional'),
    'unregistered type': (dict(type='ELHRNett'),
                          "'ELHRNett' is not registered.*'ELHRNet'"),
}


@pytest.mark.parametrize('case', CASES)
def test_bad_backbone_dict(cfg, case):
    changes, pattern = CASES[case]
    with pytest.raises(ValueError, match=pattern):
        check_backbone_cfg(with_backbone(cfg, **changes))


def test_valid_values_pass(cfg):
    check_backbone_cfg(cfg)
    check_backbone_cfg(
        with_backbone(cfg, conv_cfg=None, block_cfg=dict(groups=None),
                      frozen_stages=-1, norm_eval=True))


def test_sequences_and_unannotated_arguments():
    class Net:

        def __init__(self, sizes: list, ratio: float = 1.0, anything=None):
            pass

    check_init_kwargs(Net, dict(sizes=(1, 2), ratio=2, anything='x'), 'm')
    with pytest.raises(ValueError, match='m.ratio = True'):
        check_init_kwargs(Net, dict(sizes=[1], ratio=True), 'm')
    with pytest.raises(ValueError, match=r"m.sizes = 3 \(int\)"):
        check_init_kwargs(Net, dict(sizes=3), 'm')

    class Open:

        def __init__(self, a: int, **kwargs):
            pass

    check_init_kwargs(Open, dict(a=1, b=2), 'm')


@pytest.mark.slow
def test_train_tool_stops_at_config_load(tmp_path):
    ret = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), TINY, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', 'model.backbone.foo=1'
    ], capture_output=True, text=True, timeout=300)
    assert ret.returncode == 1
    assert ("error: model.backbone: ELHRNet has no argument(s) ['foo']; "
            'allowed: [') in ret.stderr
    assert not (tmp_path / 'work').exists()  # no Runner was built
