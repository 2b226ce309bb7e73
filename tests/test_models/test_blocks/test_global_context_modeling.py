import pytest
import torch

from elhrnet_mm.models.blocks import GlobalContextModeling
from elhrnet_mm.models.blocks.folded_global_context_modeling import \
    FoldedGlobalContextModeling
from elhrnet_mm.models.blocks.global_context_modeling import context_pool


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_context_pool_global_is_softmax_weighted_mean():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 6, 4)
    logits = torch.randn(2, 1, 6, 4)
    w = logits.flatten(1).softmax(1)
    ref = (x.flatten(2) * w[:, None]).sum(-1)
    torch.testing.assert_close(context_pool(x, logits).flatten(1), ref)


def test_context_pool_windows():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 6)
    logits = torch.randn(2, 1, 8, 6)
    out = context_pool(x, logits, (2, 3))
    assert out.shape == (2, 3, 2, 3)
    for i in range(2):
        for j in range(3):
            win = x[:, :, 4 * i:4 * i + 4, 2 * j:2 * j + 2].flatten(2)
            w = logits[:, :, 4 * i:4 * i + 4, 2 * j:2 * j + 2].flatten(
                1).softmax(1)
            torch.testing.assert_close(out[:, :, i, j],
                                       (win * w[:, None]).sum(-1))


@pytest.mark.parametrize('c,r', [(16, 4), (20, 4), (80, 8), (160, 8)])
def test_shape_and_param_count(c, r):
    m = GlobalContextModeling(c, r)
    hidden = c // r
    # mask conv (C + 1), MLP (C*h + BN 2h + h*C + C), output BN (2C)
    assert n_params(m) == (c + 1) + (c * hidden + 2 * hidden + hidden * c +
                                     c) + 2 * c
    assert m(torch.randn(2, c, 8, 6)).shape == (2, c, 8, 6)


def test_forward_is_bn_of_channel_weighted_input():
    torch.manual_seed(0)
    m = GlobalContextModeling(8, 4).eval()
    x = torch.randn(2, 8, 5, 7)
    context = context_pool(x, m.conv_mask(x))
    gate = torch.sigmoid(m.channel_attention(context))
    torch.testing.assert_close(m(x), m.norm(x * gate))


def test_bad_reduction():
    with pytest.raises(ValueError, match='reduction'):
        GlobalContextModeling(8, 16)


def test_deploy_is_exact(assert_deploy_exact):
    fused = assert_deploy_exact(
        GlobalContextModeling(16), torch.randn(2, 16, 8, 6))
    assert type(fused) is FoldedGlobalContextModeling
    assert isinstance(fused.gcm.norm, torch.nn.Identity)


def test_switch_to_deploy_swaps_in_a_replacement():
    """One forward path: the training module keeps no deploy buffers; the
    deploy form is another module (None while the norm is training)."""
    m = GlobalContextModeling(8, 4)
    assert dict(m.named_buffers(recurse=False)) == {}
    assert m.switch_to_deploy() is None  # training BN: nothing to fold
    m.eval()
    x = torch.randn(2, 8, 5, 7)
    with torch.no_grad():
        expected = m(x)
        folded = m.switch_to_deploy()
        torch.testing.assert_close(folded(x), expected)
    assert folded.gcm is m
