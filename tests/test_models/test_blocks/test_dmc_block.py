import pytest
import torch
import torch.nn as nn

from elhrnet_mm.models.blocks import DMCBlock, EnhancedConvBN
from elhrnet_mm.analysis.counters import torchstat_flops


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def inputs(channels, n=2, h=64, w=48):
    return [
        torch.randn(n, c, h // 2**i, w // 2**i) for i, c in enumerate(channels)
    ]


class OnBranches(nn.Module):
    """Feeds a block fixed-size branches, for the counters."""

    def __init__(self, block, channels):
        super().__init__()
        self.block, self.channels = block, channels

    def forward(self, x):
        return self.block(inputs(self.channels, n=1))


# Params and torchstat FLOPs (at 256x192, decimal M) of one official DMC
# block per stage, from the Dite-HRNet architecture notes
# (shared/reference/ARCHITECTURE_NOTES.md, Sec. 2, "DMC block" table).
@pytest.mark.parametrize('channels,params,mflops', [
    ((40, 80), 5085, 2.16),
    ((40, 80, 160), 14851, 2.80),
    ((40, 80, 160, 320), 46533, 3.31),
])
def test_official_params_and_flops(channels, params, mflops):
    block = DMCBlock(channels)
    assert n_params(block) == params
    stat = torchstat_flops(OnBranches(block, channels), (1, 1, 1, 1))
    assert round(stat.flops / 1e6, 2) == mflops
    assert stat.unknown_modules == ()


@pytest.mark.parametrize('channels', [(40, ), (40, 80), (40, 80, 160)])
def test_shapes(channels):
    xs = inputs(channels, h=32, w=24)
    assert [y.shape for y in DMCBlock(channels)(xs)] == [x.shape for x in xs]


def test_first_half_passes_through_and_is_shuffled():
    torch.manual_seed(0)
    block = DMCBlock((8, 16)).eval()
    xs = inputs((8, 16), h=16, w=12)
    ys = block(xs)
    # channel shuffle (2 groups) of [identity half, complex half]: the even
    # output channels are the input's first half
    for x, y in zip(xs, ys):
        torch.testing.assert_close(y[:, 0::2], x[:, :x.shape[1] // 2])
    stages = block.complex_branch([x[:, x.shape[1] // 2:] for x in xs])
    for y, s in zip(ys, stages[-1]):
        torch.testing.assert_close(y[:, 1::2], s)


def test_enhanced_conv_bn_and_window_pooling():
    block = DMCBlock((40, 80), conv_bn_cfg=dict(type='EnhancedConvBN'),
                     dcm_pooling='window')
    assert all(
        isinstance(conv, EnhancedConvBN) for dsc in block.dsc
        for conv in dsc.convs)
    xs = inputs((40, 80), h=16, w=12)
    assert block(xs)[1].shape == xs[1].shape


def test_checkpointing_gives_same_gradients():
    torch.manual_seed(0)
    plain = DMCBlock((8, 16))
    cp = DMCBlock((8, 16), with_cp=True)
    cp.load_state_dict(plain.state_dict())
    xs = [x.requires_grad_() for x in inputs((8, 16), h=16, w=12)]
    for block in (plain, cp):
        sum(y.square().sum() for y in block(xs)).backward()
    for p, q in zip(plain.parameters(), cp.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


@pytest.mark.parametrize('kwargs,msg', [
    (dict(in_channels=(40, 81)), 'even'),
    (dict(in_channels=(40, 80, 160), dsc_groups=(1, 1)), 'dsc_groups'),
    (dict(in_channels=(40, 80), gcm_reductions=(4, )), 'gcm_reductions'),
    (dict(in_channels=(40, 80), dcm_pooling='avg'), 'pooling'),
])
def test_bad_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        DMCBlock(**kwargs)


def test_deploy_is_exact(assert_deploy_exact):
    x = [torch.randn(2, 8, 8, 6), torch.randn(2, 16, 4, 3)]
    assert_deploy_exact(DMCBlock([8, 16]), x)
