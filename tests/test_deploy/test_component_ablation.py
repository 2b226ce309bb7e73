"""Networks without a component, for pricing it
(elhrnet_mm/deploy/component_ablation): every module of the component
replaced (outermost match, also in its deploy rewrites' forms), the stand-ins'
geometry, shapes kept, errors."""
import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from elhrnet_mm.deploy.component_ablation import (COMPONENTS, Concat,
                                                  Shortcut,
                                                  remove_components)
from elhrnet_mm.deploy.inference_model import build_inference_model
from elhrnet_mm.models.blocks import (DynamicKernelConv, EnhancedConvBN,
                                      LBasicBlock)

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = dict(
    el=ROOT / 'configs' / 'quickstart' /
    'td-hm_el-hrnet-w32-small_1xb32-8e_synthcoco-128x96.py',
    dite=ROOT / 'configs' / 'dite_hrnet' /
    'td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py',
    edite=ROOT / 'configs' / 'edite_hrnet' /
    'td-hm_edite-hrnet-s_1xb32-270e_coco-256x192.py',
    cbam_lite=ROOT / 'configs' / 'cbam_litehrnet' /
    'td-hm_cbam-litehrnet-18_8xb64-210e_coco-256x192.py')
SAMPLE = torch.randn(1, 3, 128, 96, generator=torch.Generator().manual_seed(0))
_NETWORKS = {}


def fused(family: str) -> nn.Module:
    """The family's fused network (deploy rewrites applied), built once."""
    if family not in _NETWORKS:
        torch.manual_seed(0)
        _NETWORKS[family] = build_inference_model(str(CONFIGS[family]))
    return copy.deepcopy(_NETWORKS[family])


def outermost(model: nn.Module, name: str) -> dict:
    """Qualified name -> module of the component's types, not inside
    another such module."""
    types = tuple(kind for kind, _ in COMPONENTS[name])
    found = {}
    for qual, module in model.named_modules():
        if isinstance(module, types) and not any(
                qual.startswith(f'{outer}.') for outer in found):
            found[qual] = module
    return found


def unfused_kernels(family: str) -> dict:
    """Qualified name -> kernel size of each Enhanced ConvBN's primary conv,
    read from the unfused network (a DKA conv or a plain conv)."""
    torch.manual_seed(0)
    model = build_inference_model(str(CONFIGS[family]), fuse=False)
    kernels = {}
    for qual, module in model.named_modules():
        if isinstance(module, EnhancedConvBN):
            conv = module[0].primary[0]
            kernels[qual] = (conv.aggregation.kernel_size if isinstance(
                conv, DynamicKernelConv) else conv.kernel_size)
    return kernels


@pytest.mark.parametrize('family,name', [
    ('el', 'cbam'), ('el', 'l_basic_block'), ('dite', 'gcm'),
    ('dite', 'dcm'), ('dite', 'dka'), ('dite', 'channel_shuffle'),
    ('edite', 'enhanced_conv_bn'), ('cbam_lite', 'cbam')
])
def test_every_module_of_the_component_goes(family, name):
    model = fused(family)
    targets = outermost(model, name)
    assert targets, f'{family} has no {name}'
    with torch.no_grad():
        complete = model(SAMPLE)
    assert remove_components(model, [name], SAMPLE) == {name: len(targets)}
    types = tuple(kind for kind, _ in COMPONENTS[name])
    assert not [m for m in model.modules() if isinstance(m, types)]
    with torch.no_grad():
        out = model(SAMPLE)
    assert out.shape == complete.shape
    assert (out - complete).abs().max() > 1e-5  # not exact: it changed


def test_several_components_at_once_in_the_order_named():
    model = fused('dite')
    counts = {name: len(outermost(model, name))
              for name in ('gcm', 'dcm', 'dka')}
    assert remove_components(model, ['gcm', 'dcm', 'dka'],
                             SAMPLE) == counts
    assert list(counts) == ['gcm', 'dcm', 'dka']


def test_a_component_inside_another_goes_with_it():
    model = fused('el')
    blocks = len(outermost(model, 'l_basic_block'))
    assert remove_components(model, ['cbam', 'l_basic_block'],
                             SAMPLE) == {'cbam': 0, 'l_basic_block': blocks}
    assert not [m for m in model.modules()
                if isinstance(m, tuple(k for k, _ in COMPONENTS['cbam']))]


def removed(family: str, name: str, kind: type):
    """The family's fused network before the removal of ``name`` (modules
    of type ``kind`` by qualified name, their input and output shapes) and
    the modules after it, by qualified name."""
    model = fused(family)
    before = {q: m for q, m in model.named_modules() if isinstance(m, kind)}
    shapes = {}
    hooks = [m.register_forward_hook(
        lambda m, a, o, q=q: shapes.__setitem__(q, (a[0].shape, o.shape)))
             for q, m in before.items()]
    with torch.no_grad():
        model(SAMPLE)
    for hook in hooks:
        hook.remove()
    remove_components(model, [name], SAMPLE)
    return before, shapes, dict(model.named_modules())


def test_dka_becomes_a_static_conv_of_its_geometry():
    before, _, after = removed('dite', 'dka', DynamicKernelConv)
    for qual, dynamic in before.items():
        agg = dynamic.aggregation.aggregation  # FoldedKernelAggregation's
        conv = after[qual]
        assert type(conv) is nn.Conv2d
        assert (conv.in_channels, conv.out_channels, conv.kernel_size,
                conv.stride, conv.padding, conv.groups) == (
                    agg.in_channels, agg.out_channels, agg.kernel_size,
                    agg.stride, agg.padding, agg.groups)


def test_enhanced_conv_bn_becomes_the_depthwise_conv_it_stands_for():
    before, shapes, after = removed('edite', 'enhanced_conv_bn',
                                    EnhancedConvBN)
    kernels = unfused_kernels('edite')
    strides = set()
    for qual in before:
        if qual not in after:  # inside a merged DSC, rebuilt as splits
            continue
        (shape_in, shape_out) = shapes[qual]
        conv = after[qual]
        assert type(conv) is nn.Conv2d
        assert conv.kernel_size == tuple(kernels[qual])
        assert conv.groups == math.gcd(shape_in[1], shape_out[1])
        assert conv.stride[0] == shape_in[-1] // shape_out[-1]
        strides.add(conv.stride[0])
    assert strides == {1, 2}


def test_l_basic_block_becomes_its_shortcut():
    before, _, after = removed('el', 'l_basic_block', LBasicBlock)
    for qual, block in before.items():
        # a block wrapped by SplitNConvBlock is its ``.block``
        slot = qual.rsplit('.', 1)[0] if qual.endswith('.block') else qual
        assert isinstance(after[slot], Shortcut)
        assert after[slot].downsample is block.downsample


def test_concat_and_shortcut_stand_ins():
    a, b = torch.randn(1, 2, 3, 3), torch.randn(1, 4, 3, 3)
    assert torch.equal(Concat()(a, b), torch.cat([a, b], 1))
    assert Shortcut()(a) is a
    down = nn.Conv2d(2, 4, 1, stride=2)
    assert torch.equal(Shortcut(down)(a), down(a))


def test_errors_name_the_component():
    model = fused('el')
    with pytest.raises(ValueError, match=r"some of \['cbam'.*got \['dmc'\]"):
        remove_components(model, ['dmc'], SAMPLE)
    with pytest.raises(ValueError, match='some of'):
        remove_components(model, [], SAMPLE)
    with pytest.raises(ValueError, match=r"no module of the component\(s\) "
                       r"\['gcm'\] \(types: gcm: GlobalContextModeling"):
        remove_components(model, ['cbam', 'gcm'], SAMPLE)
