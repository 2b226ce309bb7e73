import warnings

import pytest
import torch
import torch.nn.functional as F

from elhrnet_mm.models.blocks import DynamicKernelConv
from elhrnet_mm.models.blocks.dynamic_kernel_conv import (DynamicConvModule,
                                                          KernelAggregation)
from elhrnet_mm.analysis.counters import torchstat_flops
from elhrnet_mm.models.blocks.folded_kernel_aggregation import \
    FoldedKernelAggregation


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def explicit(m, x):
    """Per-sample reference: build W_n = sum_k a_nk W_k, convolve sample n."""
    agg = m.aggregation
    att = m.attention(x)
    outs = []
    for n in range(x.shape[0]):
        w = (att[n].view(-1, 1, 1, 1, 1) * agg.weight).sum(0)
        b = None if agg.bias is None else (att[n].view(-1, 1) *
                                           agg.bias).sum(0)
        outs.append(
            F.conv2d(x[n:n + 1], w, b, agg.stride, agg.padding,
                     agg.dilation, agg.groups))
    return torch.cat(outs)


@pytest.mark.parametrize('batch', [1, 3])
@pytest.mark.parametrize('cin,cout,k,stride,groups,bias', [
    (8, 8, 3, 1, 8, False),
    (8, 12, 1, 1, 1, False),
    (8, 8, 3, 2, 8, False),
    (6, 9, (1, 5), 1, 3, True),
    (16, 4, 5, 2, 2, True),
])
def test_equals_per_sample_weighted_kernel_conv(cin, cout, k, stride, groups,
                                                bias, batch):
    torch.manual_seed(0)
    m = DynamicKernelConv(
        cin, cout, k, stride=stride, groups=groups, bias=bias,
        num_kernels=4).eval()
    if bias:
        torch.nn.init.normal_(m.aggregation.bias)
    x = torch.randn(batch, cin, 11, 10)
    y = m(x)
    torch.testing.assert_close(y, explicit(m, x), rtol=1e-4, atol=1e-5)
    ref = torch.nn.Conv2d(
        cin, cout, k, stride=stride, padding=m.aggregation.padding,
        groups=groups)
    assert y.shape == ref(x).shape


def test_one_sample_is_convolved_without_reshapes():
    # batch 1 is its own folded batch: the traced graph reshapes only the
    # mixed kernel (no identity reshapes of the map for graph runtimes)
    torch.manual_seed(0)
    m = DynamicKernelConv(8, 8, 3, groups=8, num_kernels=4).eval()
    x = torch.randn(1, 8, 6, 5)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        traced = torch.jit.trace(m, x)
        torch.testing.assert_close(traced(x), m(x))
    graph = str(traced.inlined_graph)
    assert 'aten::reshape' not in graph
    assert graph.count('aten::view') == 1


def test_samples_get_different_kernels_and_attention_is_sigmoid():
    torch.manual_seed(1)
    m = DynamicKernelConv(4, 4, 3, groups=4, num_kernels=3).eval()
    x = torch.randn(2, 4, 8, 8)
    x[1] *= 5
    att = m.attention(x)
    assert att.shape == (2, 3)
    assert ((att > 0) & (att < 1)).all()
    assert not torch.allclose(att[0], att[1])


def test_one_grouped_conv_for_the_whole_batch(monkeypatch):
    calls = []
    conv2d = F.conv2d

    def spy(x, w, *args, **kwargs):
        calls.append((tuple(x.shape), tuple(w.shape)))
        return conv2d(x, w, *args, **kwargs)

    m = DynamicKernelConv(8, 8, 3, groups=8, num_kernels=4).eval()
    x = torch.randn(5, 8, 6, 6)
    attention = m.attention(x)
    monkeypatch.setattr(F, 'conv2d', spy)
    m.aggregation(x, attention)
    # a single call: batch folded into the channels, N * C_out kernels
    assert calls == [((1, 40, 6, 6), (40, 1, 3, 3))]


@pytest.mark.parametrize('cin,cout,k,groups,kernels,red', [
    (16, 16, 3, 16, 4, 4),
    (16, 4, 1, 1, 4, 4),
    (4, 16, 1, 1, 4, 4),
    (40, 40, 5, 40, 2, 4),
])
def test_param_count(cin, cout, k, groups, kernels, red):
    m = DynamicKernelConv(
        cin, cout, k, groups=groups, num_kernels=kernels, reduction=red)
    hidden = cin // red
    bank = kernels * cout * cin // groups * k * k
    attention = cin * hidden + 2 * hidden + hidden * kernels + kernels
    assert n_params(m) == bank + attention


def test_torchstat_counts_it_as_one_conv_plus_attention():
    # the official torchstat rule for KernelAggregation: a Conv2d of one
    # kernel; the attention is counted layer by layer
    c, h, w, kernels, hidden = 16, 12, 10, 4, 4
    m = DynamicKernelConv(c, c, 3, groups=c, num_kernels=kernels)
    stat = torchstat_flops(m, (1, c, h, w))
    conv = 9 * c * 1 * h * w
    pool = c * (h + 1) * (w + 1)
    mlp = c * hidden + 2 * hidden + hidden + hidden * kernels + kernels
    assert stat.flops == conv + pool + mlp
    assert stat.params == n_params(m)
    assert stat.unknown_modules == ()


def test_dynamic_conv_module_is_static_for_one_kernel():
    static = DynamicConvModule(8, 8, 3, groups=8, num_kernels=1)
    assert isinstance(static[0], torch.nn.Conv2d)
    dynamic = DynamicConvModule(
        8, 8, 3, groups=8, num_kernels=4, act_cfg=dict(type='ReLU'))
    assert isinstance(dynamic[0], DynamicKernelConv)
    assert isinstance(dynamic[0].aggregation, KernelAggregation)
    assert isinstance(dynamic[2], torch.nn.ReLU)
    assert dynamic(torch.randn(2, 8, 6, 6)).min() >= 0


@pytest.mark.parametrize('kwargs,msg', [
    (dict(num_kernels=1), 'num_kernels'),
    (dict(groups=3), 'groups=3'),
    (dict(reduction=16), 'attention width'),
    (dict(hidden_channels=0), 'attention width'),
])
def test_bad_arguments(kwargs, msg):
    args = dict(
        in_channels=8, out_channels=8, kernel_size=3, num_kernels=4)
    args.update(kwargs)
    with pytest.raises(ValueError, match=msg):
        DynamicKernelConv(**args)


def test_fold_affine_scales_the_bank_exactly():
    conv = DynamicKernelConv(8, 6, 3, groups=2, bias=True).eval()
    x = torch.randn(3, 8, 7, 5)
    scale, shift = torch.rand(6) + 0.5, torch.randn(6)
    with torch.no_grad():
        expected = conv(x) * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)
        assert conv.fold_affine(scale, shift) is conv
        torch.testing.assert_close(conv(x), expected)
        # a second map composes: (2 y + 1) after the first
        conv.fold_affine(torch.full((6, ), 2.), torch.ones(6))
        torch.testing.assert_close(conv(x), 2 * expected + 1)
    assert type(conv.aggregation) is FoldedKernelAggregation


def test_training_aggregation_has_no_deploy_state():
    """One forward path: the folded shift lives in the replacement module
    that ``fold_affine`` returns, not in a buffer that starts as None."""
    aggregation = KernelAggregation(8, 6, 3, 4, padding=1)
    assert dict(aggregation.named_buffers()) == {}
    folded = aggregation.fold_affine(torch.ones(6), torch.zeros(6))
    assert type(folded) is FoldedKernelAggregation
    assert folded.aggregation is aggregation
    assert folded.shift.shape == (6, )


@pytest.mark.parametrize('kernels', [1, 4])
def test_deploy_is_exact(assert_deploy_exact, kernels):
    module = DynamicConvModule(
        8, 8, 3, groups=8, num_kernels=kernels, act_cfg=dict(type='ReLU'))
    assert_deploy_exact(module, torch.randn(3, 8, 7, 5))
