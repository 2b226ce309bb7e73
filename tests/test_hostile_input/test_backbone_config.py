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


# one shipped config per backbone; ``misspelt`` is a real argument with a typo
SHIPPED = {
    'ELHRNet': ('el_hrnet/td-hm_el-hrnet-w32_1xb16-300e_coco-256x192.py',
                'norm_evel'),
    'CBAMLiteHRNet': ('cbam_litehrnet/'
                      'td-hm_cbam-litehrnet-18_8xb64-210e_coco-256x192.py',
                      'cbam_reduction_ration'),
    'DiteHRNet': ('dite_hrnet/td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py',
                  'stage_blocks'),
    'EDiteHRNet':
    ('edite_hrnet/td-hm_edite-hrnet-s_1xb32-270e_coco-256x192.py',
     'stem_blok'),
    'MobilePoseNetEncoder': ('mobileposenet/'
                             'td-hm_mobileposenet_1xb32-210e_coco-256x192.py',
                             'num_layer'),
}


@pytest.fixture(scope='module')
def shipped():
    return {
        name: Config.fromfile(osp.join(ROOT, 'configs', path))
        for name, (path, _) in SHIPPED.items()
    }


@pytest.mark.parametrize('backbone', SHIPPED)
def test_misspelt_key_of_each_backbone(shipped, backbone):
    cfg = shipped[backbone]
    assert cfg.model.backbone.type == backbone
    check_backbone_cfg(cfg)
    misspelt = SHIPPED[backbone][1]
    with pytest.raises(
            ValueError,
            match=rf"model.backbone: {backbone} has no argument\(s\) "
            rf"\['{misspelt}'\]; allowed: \["):
        check_backbone_cfg(with_backbone(cfg, **{misspelt: 1}))


def test_edite_hrnet_types_through_its_kwargs(shipped):
    # EDiteHRNet takes **kwargs and hands them to DiteHRNet: followed
    with pytest.raises(
            ValueError,
            match=r"model.backbone.in_channels = '3' \(str\) does not fit "
            'EDiteHRNet; allowed: int'):
        check_backbone_cfg(with_backbone(shipped['EDiteHRNet'],
                                         in_channels='3'))


@pytest.mark.parametrize('change,pattern', [
    (dict(stage_block=dict(type='EDMCBlock', mix_grups=1)),
     r"model.backbone.stage_block: EDMCBlock has no argument\(s\) "
     r"\['mix_grups'\]; allowed: \[.*'mix_groups'"),
    (dict(stage_block=dict(
        type='EDMCBlock', conv_bn_cfg=dict(type='EnhancedConvBN',
                                           dw_siz=5))),
     r"model.backbone.stage_block.conv_bn_cfg: EnhancedConvBN has no "
     r"argument\(s\) \['dw_siz'\]"),
    (dict(stem_block=dict(
        type='EDGCBlock',
        conv_bn_cfgs={'branch1.dw': dict(type='EnhancedConvBN', ratio='2')})),
     r"model.backbone.stem_block.conv_bn_cfgs\['branch1.dw'\].ratio = '2' "
     r'\(str\) does not fit EnhancedConvBN; allowed: int'),
])
def test_blocks_chosen_by_config_are_checked(shipped, change, pattern):
    with pytest.raises(ValueError, match=pattern):
        check_backbone_cfg(with_backbone(shipped['EDiteHRNet'], **change))


def test_blocks_taking_kwargs_are_checked():
    from elhrnet_mm.models.blocks import EDGCBlock, EDMCBlock, LABasicBlock
    for cls, good, bad in (
        (EDMCBlock, dict(in_channels=[8], dcm_pooling='window'), 'dcm_pool'),
        (EDGCBlock, dict(channels=8, bottleneck_ratio=2), 'bottleneck'),
        (LABasicBlock, dict(in_channels=8, out_channels=8, groups=2),
         'group'),
    ):
        check_init_kwargs(cls, good, 'm')
        with pytest.raises(ValueError, match=rf"\['{bad}'\]"):
            check_init_kwargs(cls, dict(good, **{bad: 1}), 'm')
    # types of the parent's parameters too (LBasicBlock: groups Optional[int])
    with pytest.raises(ValueError, match="m.groups = 'two'"):
        check_init_kwargs(LABasicBlock, dict(groups='two'), 'm')


def test_kwargs_followed_less_what_the_call_fills():
    class Base:

        def __init__(self, a: int, b: str = 'x', c: float = 1.0):
            pass

    class Child(Base):

        def __init__(self, d: int = 0, **kwargs):
            super().__init__(1, c=2.0, **kwargs)

    check_init_kwargs(Child, dict(d=1, b='y'), 'm')
    for filled in ('a', 'c'):  # Python would say "multiple values"
        with pytest.raises(ValueError, match=rf"\['{filled}'\]; allowed: "
                           r"\['d', 'b'\]"):
            check_init_kwargs(Child, {filled: 1}, 'm')
    with pytest.raises(ValueError, match="m.b = 3 .*allowed: str"):
        check_init_kwargs(Child, dict(b=3), 'm')
