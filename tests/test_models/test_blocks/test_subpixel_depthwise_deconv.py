import pytest
import torch
import torch.nn.functional as F

from elhrnet_mm.models.blocks import LightweightUpsampleBlock
from elhrnet_mm.models.blocks.subpixel_depthwise_deconv import (
    PHASES, SubpixelDepthwiseDeconv, interleave_phases)


def depthwise_deconv(k, bias, channels=6):
    padding, output_padding = LightweightUpsampleBlock._PADDING[k]
    return torch.nn.ConvTranspose2d(
        channels, channels, k, stride=2, padding=padding,
        output_padding=output_padding, groups=channels, bias=bias)


@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('k', [2, 3, 4])
@pytest.mark.parametrize('bias', [False, True])
def test_equals_transposed_conv(k, bias, channels_last):
    deconv = depthwise_deconv(k, bias)
    x = torch.randn(2, 6, 5, 7)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    subpixel = SubpixelDepthwiseDeconv.from_deconv(deconv)
    with torch.no_grad():
        expected = deconv(x)
        actual = subpixel(x)
        phases = subpixel.phases(x)
    assert actual.shape == expected.shape == (2, 6, 10, 14)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)
    # phase i holds the output pixels (2m + rh, 2n + rw), in x's layout
    for (rh, rw), phase in zip(PHASES, phases):
        torch.testing.assert_close(phase, expected[:, :, rh::2, rw::2],
                                   rtol=0, atol=1e-5)
        assert phase.is_contiguous(memory_format=torch.channels_last) \
            == channels_last
    assert actual.is_contiguous(memory_format=torch.channels_last) \
        == channels_last


def test_kernel_4_uses_the_convs_own_padding():
    """Kernel 4, padding 1 (the default block): symmetric phase offsets,
    so no padded copy of the input is made."""
    subpixel = SubpixelDepthwiseDeconv.from_deconv(depthwise_deconv(4, False))
    assert subpixel.pad is None and subpixel.conv_padding == (1, 1)
    assert [tuple(w.shape) for w in subpixel.phase_weights] == \
        [(6, 1, 3, 3)] * 4
    # each 3x3 phase kernel holds the transposed conv's 2x2 taps of it
    assert [int((w != 0).sum()) for w in subpixel.phase_weights] == \
        [6 * 4] * 4
    odd = SubpixelDepthwiseDeconv.from_deconv(depthwise_deconv(3, False))
    assert odd.pad == (0, 1, 0, 1)


@pytest.mark.parametrize('deconv,match', [
    (torch.nn.ConvTranspose2d(6, 6, 4, stride=2, padding=1), 'depthwise'),
    (torch.nn.ConvTranspose2d(6, 6, 4, stride=1, padding=1, groups=6),
     'depthwise stride-2'),
    (torch.nn.ConvTranspose2d(6, 6, 4, stride=2, padding=0, groups=6),
     'exactly twice'),
])
def test_refuses_other_deconvs(deconv, match):
    with pytest.raises(ValueError, match=match):
        SubpixelDepthwiseDeconv.from_deconv(deconv)


def test_refuses_bad_weight_shape():
    with pytest.raises(ValueError, match=r'\(4, C, 1, kh, kw\)'):
        SubpixelDepthwiseDeconv(torch.zeros(6, 1, 3, 3), None, (1, 1, 1, 1))


@pytest.mark.parametrize('channels_last', [False, True])
def test_interleave_phases_is_pixel_shuffle(channels_last):
    phases = [torch.randn(2, 3, 4, 5) for _ in range(4)]
    if channels_last:
        phases = [p.contiguous(memory_format=torch.channels_last)
                  for p in phases]
    expected = F.pixel_shuffle(torch.stack(phases, 2).flatten(1, 2), 2)
    actual = interleave_phases(phases)
    assert torch.equal(actual, expected)
    assert actual.is_contiguous(memory_format=torch.channels_last) \
        == channels_last


def test_interleave_phases_under_tracing_emits_pixel_shuffle():
    phases = [torch.randn(1, 2, 3, 3) for _ in range(4)]
    traced = torch.jit.trace(lambda *p: interleave_phases(p), tuple(phases))
    assert 'aten::pixel_shuffle' in str(traced.graph)
    assert 'aten::copy_' not in str(traced.graph)
    assert torch.equal(traced(*phases), interleave_phases(phases))


def test_interleave_phases_needs_four():
    with pytest.raises(ValueError, match='needs 4 phases, got 3'):
        interleave_phases([torch.zeros(1, 1, 2, 2)] * 3)
