import pytest
import torch
from mmengine.runner.checkpoint import load_state_dict

from elhrnet_mm.models.backbones import MobilePoseNetEncoder


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def paper_bneck_params(cin, k, mid, out, se):
    """MobileNetV3 bottleneck with BN: expand only when mid != in, SE
    squeeze make_divisible(mid // 4, 8) (Howard et al. 2019; torchvision)."""
    p = cin * mid + 2 * mid if mid != cin else 0
    p += k * k * mid + 2 * mid
    if se:
        s = max(8, int(mid // 4 + 4) // 8 * 8)
        s += 8 if s < 0.9 * (mid // 4) else 0
        p += mid * s + s + s * mid + mid
    return p + mid * out + 2 * out


def test_c4_shape_and_param_count():
    enc = MobilePoseNetEncoder().eval()
    out = enc(torch.rand(1, 3, 256, 192))
    assert len(out) == 1 and out[0].shape == (1, 112, 16, 12)
    table = [[3, 16, 16, 0], [3, 64, 24, 0], [3, 72, 24, 0], [5, 72, 40, 1],
             [5, 120, 40, 1], [5, 120, 40, 1], [3, 240, 80, 0],
             [3, 200, 80, 0], [3, 184, 80, 0], [3, 184, 80, 0],
             [3, 480, 112, 1], [3, 672, 112, 1]]
    expected, cin = 3 * 16 * 9 + 2 * 16, 16  # stem conv + BN
    for k, mid, cout, se in table:
        expected += paper_bneck_params(cin, k, mid, cout, se)
        cin = cout
    assert n_params(enc) == expected
    assert not hasattr(enc.layer1, 'expand_conv')  # mid == in: no 1x1
    assert enc.layer4.se.conv1.conv.out_channels == 24  # 72 // 4 -> 24


def test_full_large_reaches_stride_32_and_multi_outputs():
    enc = MobilePoseNetEncoder(num_layers=15, out_indices=(5, 11, 14))
    shapes = [o.shape for o in enc(torch.rand(1, 3, 64, 64))]
    assert shapes == [(1, 40, 8, 8), (1, 112, 4, 4), (1, 160, 2, 2)]


def test_se_gate_is_hard_sigmoid_3_6():
    gate = MobilePoseNetEncoder().layer4.se.conv2.activate
    x = torch.tensor([-4., -3., 0., 3., 4.])
    torch.testing.assert_close(gate(x), torch.clamp((x + 3) / 6, 0, 1))


def test_mmpretrain_stem_keys_load_into_conv1():
    src = MobilePoseNetEncoder()
    state = {(k.replace('conv1.', 'layer0.', 1) if k.startswith('conv1.')
              else k): v.clone() + 1 for k, v in src.state_dict().items()}
    dst = MobilePoseNetEncoder()
    load_state_dict(dst, state, strict=True)
    torch.testing.assert_close(dst.conv1.conv.weight,
                               src.conv1.conv.weight + 1)


def test_frozen_stages_and_train_returns_self():
    enc = MobilePoseNetEncoder(frozen_stages=2)
    assert enc.train() is enc
    assert not enc.conv1.conv.weight.requires_grad
    assert not enc.layer2.linear_conv.conv.weight.requires_grad
    assert enc.layer3.linear_conv.conv.weight.requires_grad


@pytest.mark.parametrize('kwargs,match', [
    (dict(num_layers=16), 'num_layers must be an int in 1..15'),
    (dict(out_indices=(12, )), 'out_indices entry 12 is out of range'),
    (dict(frozen_stages=12), 'frozen_stages must be in -1..11'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MobilePoseNetEncoder(**kwargs)
