import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from elhrnet_mm.models.blocks import DMCBlock, EDMCBlock, EnhancedConvBN
from elhrnet_mm.models.blocks.edmc_block import ChannelwiseConv1x1, MixConv
from elhrnet_mm.models.blocks.folded_mix_conv import FoldedMixConv


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def inputs(channels, n=2, h=32, w=24):
    return [
        torch.randn(n, c, h // 2**i, w // 2**i) for i, c in enumerate(channels)
    ]


@pytest.mark.parametrize('channels', [(40, 80), (40, 80, 160, 320)])
@pytest.mark.parametrize('mix_groups,mix_inputs', [(None, 'stages'),
                                                   (1, 'stages'),
                                                   (1, 'input+stages')])
def test_params_are_dmc_plus_cheap_and_mix(channels, mix_groups,
                                           mix_inputs):
    block = EDMCBlock(channels, mix_groups=mix_groups, mix_inputs=mix_inputs)
    base = DMCBlock(channels, conv_bn_cfg=dict(type='EnhancedConvBN'))
    s = 4 if mix_inputs == 'input+stages' else 3
    extra = 0
    for c in (ch // 2 for ch in channels):
        cheap = c + 2 * c  # depthwise 1x1 + BN
        mix = (9 * s * c if mix_groups is None else 9 * s * c * c) + 2 * c
        extra += cheap + mix
    assert n_params(block) == n_params(base) + extra
    xs = inputs(channels)
    assert [y.shape for y in block(xs)] == [x.shape for x in xs]


def test_simple_half_is_cheap_plus_mix_of_stage_outputs():
    torch.manual_seed(0)
    block = EDMCBlock((8, 16), conv_bn_cfg=dict(type='ConvBN')).eval()
    xs = inputs((8, 16), h=16, w=12)
    ys = block(xs)
    stages = block.complex_branch([x[:, x.shape[1] // 2:] for x in xs])
    for b, (x, y) in enumerate(zip(xs, ys)):
        c = x.shape[1] // 2
        simple = block.cheap[b](x[:, :c]) + block.mix[b](
            [s[b] for s in stages[1:]])
        torch.testing.assert_close(y[:, 0::2], simple)
        torch.testing.assert_close(y[:, 1::2], stages[-1][b])


def test_depthwise_mix_is_the_grouped_conv():
    # MixConv(groups=None) == a 3C -> C conv with C groups on the
    # interleaved stages [s1_0, s2_0, s3_0, s1_1, ...]
    torch.manual_seed(0)
    c = 6
    mix = MixConv(3, c).eval()
    x = torch.randn(2, 3 * c, 7, 5)
    grouped = torch.nn.Conv2d(3 * c, c, 3, padding=1, groups=c, bias=False)
    w = mix.conv.weight.view(3, c, 3, 3).transpose(0, 1)
    grouped.weight.data.copy_(w)
    interleaved = x.view(2, 3, c, 7, 5).transpose(1, 2).flatten(1, 2)
    torch.testing.assert_close(mix(x.chunk(3, 1)),
                               mix.norm(grouped(interleaved)))


def test_channelwise_conv_is_a_depthwise_conv():
    m = ChannelwiseConv1x1(5)
    torch.nn.init.normal_(m.weight)
    x = torch.randn(2, 5, 3, 4)
    torch.testing.assert_close(
        m(x), torch.nn.functional.conv2d(x, m.weight, groups=5))


def test_conv_bn_default_and_override():
    assert isinstance(EDMCBlock((40, 80)).dsc[0].convs[0], EnhancedConvBN)
    plain = EDMCBlock((40, 80), conv_bn_cfg=dict(type='ConvBN'))
    assert not isinstance(plain.dsc[0].convs[0], EnhancedConvBN)


@pytest.mark.parametrize('kwargs,msg', [
    (dict(mix_inputs='all'), 'mix_inputs'),
    (dict(mix_groups=3), 'mix_groups'),
    (dict(cheap_groups=7), 'cheap_groups'),
])
def test_bad_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        EDMCBlock((40, 80), **kwargs)


@pytest.mark.parametrize('mix_groups', [None, 1])
def test_deploy_is_exact(assert_deploy_exact, mix_groups):
    block = EDMCBlock([8, 16], mix_groups=mix_groups)
    x = [torch.randn(2, 8, 8, 6), torch.randn(2, 16, 4, 3)]
    fused = assert_deploy_exact(block, x)
    # the depthwise Mix has a deploy form (and the graph-runtime rewrite)
    assert all((type(m) is MixConv) == (mix_groups == 1) for m in fused.mix)


def test_mix_training_state_dict_is_the_concatenated_conv():
    # the stage list changes nothing of the trained parameters
    block = EDMCBlock([8, 16])
    keys = {k: v.shape for k, v in block.state_dict().items() if 'mix' in k}
    assert keys['mix.0.conv.weight'] == (3 * 4, 1, 3, 3)
    assert keys['mix.1.conv.weight'] == (3 * 8, 1, 3, 3)
    assert sorted(k for k in keys if k.startswith('mix.0.')) == [
        'mix.0.conv.weight', 'mix.0.norm.bias',
        'mix.0.norm.num_batches_tracked', 'mix.0.norm.running_mean',
        'mix.0.norm.running_var', 'mix.0.norm.weight'
    ]
    dense = EDMCBlock([8, 16], mix_groups=1)
    assert dense.state_dict()['mix.1.conv.weight'].shape == (8, 24, 3, 3)


def test_depthwise_mix_deploy_form_folds_the_bn(random_eval_mix):
    mix = random_eval_mix()
    stages = [torch.randn(2, 6, 9, 7) for _ in range(3)]
    with torch.no_grad():
        expected = mix(stages)
        folded = copy.deepcopy(mix).switch_to_deploy()
        assert isinstance(folded, FoldedMixConv)
        assert not any(
            isinstance(m, nn.BatchNorm2d) for m in folded.modules())
        torch.testing.assert_close(
            folded(stages), expected, rtol=0, atol=1e-5)
        # per stage: its kernels and the summed bias give the same output
        weights, bias = folded.stage_kernels()
        assert [tuple(w.shape) for w in weights] == [(6, 1, 3, 3)] * 3
        per_stage = sum(
            F.conv2d(x, w, padding=1, groups=6)
            for x, w in zip(stages, weights)) + bias.view(1, -1, 1, 1)
        torch.testing.assert_close(per_stage, expected, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match='3 stage maps, got 2'):
        folded(stages[:2])
    with pytest.raises(ValueError, match='depthwise conv with a bias'):
        FoldedMixConv(nn.Conv2d(6, 6, 3, groups=6, bias=False), 3)


def test_dense_mix_deploy_folds_into_its_conv(random_eval_mix):
    mix = random_eval_mix(groups=1)
    stages = [torch.randn(2, 6, 9, 7) for _ in range(3)]
    with torch.no_grad():
        expected = mix(stages)
        assert mix.switch_to_deploy() is None
        assert isinstance(mix.norm, nn.Identity)
        torch.testing.assert_close(mix(stages), expected, rtol=0, atol=1e-5)
