import pytest
import torch

from elhrnet_mm.models.blocks import DenseContextModeling
from elhrnet_mm.models.blocks.dense_context_modeling import \
    official_context_pool


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def branches(channels, n=2, h=16, w=12):
    return [
        torch.randn(n, c, h // 2**i, w // 2**i) for i, c in enumerate(channels)
    ]


def test_official_pool_matches_raw_memory_runs():
    # The official code views the (C*H*W) memory of a sample as `cells`
    # runs of C*L values (L = H*W / cells) and pools run r with softmax
    # weights r*L ... (r+1)*L of the whole-map softmax.
    torch.manual_seed(0)
    n, c, h, w, grid = 2, 3, 4, 6, (2, 3)
    x = torch.randn(n, c, h, w)
    logits = torch.randn(n, 1, h, w)
    out = official_context_pool(x, logits, grid)
    cells, length = 6, h * w // 6
    weights = logits.flatten(1).softmax(1)
    for b in range(n):
        flat = x[b].flatten()
        for r in range(cells):
            for ch in range(c):
                run = flat[(r * c + ch) * length:(r * c + ch + 1) * length]
                ref = (run * weights[b, r * length:(r + 1) * length]).sum()
                torch.testing.assert_close(out[b, ch].flatten()[r], ref)


@pytest.mark.parametrize('channels', [(20, 40), (20, 40, 80),
                                      (20, 40, 80, 160)])
@pytest.mark.parametrize('pooling', ['official', 'window'])
def test_shapes_and_param_count(channels, pooling):
    m = DenseContextModeling(channels, reduction=8, pooling=pooling)
    total = sum(channels)
    hidden = total // 8
    masks = sum(c + 1 for c in channels[:-1])  # none for the last branch
    assert n_params(m) == masks + total * hidden + 2 * hidden + (
        hidden * total + total)
    xs = branches(channels)
    ys = m(xs)
    assert [y.shape for y in ys] == [x.shape for x in xs]


def test_branches_are_scaled_by_upsampled_weights():
    torch.manual_seed(0)
    m = DenseContextModeling((4, 8), reduction=4, pooling='window').eval()
    xs = branches((4, 8), h=8, w=8)
    ys = m(xs)
    ratio = ys[0] / xs[0]
    # one weight per channel and 2x2 window of the high-resolution branch
    blocks = ratio.view(2, 4, 4, 2, 4, 2)
    torch.testing.assert_close(blocks, blocks[:, :, :, :1, :, :1].expand_as(
        blocks))
    assert ((ratio > 0) & (ratio < 1)).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match='pooling'):
        DenseContextModeling((4, 8), pooling='mean')
    with pytest.raises(ValueError, match='reduction'):
        DenseContextModeling((4, 8), reduction=13)


@pytest.mark.parametrize('size,grid', [((16, 12), (2, 3)), ((8, 6), (8, 6)),
                                       ((7, 5), (2, 2))])
def test_scale_by_upsampled_is_nearest_interpolation(size, grid):
    import torch.nn.functional as F

    from elhrnet_mm.models.blocks.dense_context_modeling import \
        scale_by_upsampled
    x = torch.randn(2, 3, *size)[:, 1:]  # non-contiguous in the batch
    a = torch.rand(2, 2, *grid)
    torch.testing.assert_close(
        scale_by_upsampled(x, a),
        x * F.interpolate(a, size=size, mode='nearest'))
