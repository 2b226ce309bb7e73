"""FLOPs units (``elhrnet_mm.analysis.units``)."""
import pytest

from elhrnet_mm.analysis.units import (DEFAULT_FLOPS_UNIT, FLOPS_UNITS,
                                       in_unit, to_giga, unit_size)


def test_decimal_and_binary_sizes():
    assert FLOPS_UNITS == ('G', 'M') and DEFAULT_FLOPS_UNIT == 'G'
    assert unit_size('G') == 1e9 and unit_size('M') == 1e6
    assert unit_size('G', binary=True) == 2**30
    assert unit_size('M', binary=True) == 2**20


def test_conversions():
    # Lite-HRNet-18's torchstat count prints as "205.2M" in binary units
    assert f"{in_unit(215_202_112, 'M', binary=True):.1f}" == '205.2'
    assert in_unit(2.5e9, 'G') == 2.5
    assert to_giga(557, 'M') == pytest.approx(0.557)
    assert to_giga(1.23, 'G') == 1.23


def test_unknown_unit_is_named():
    with pytest.raises(ValueError, match=r"unknown FLOPs unit 'T'; expected "
                       r"one of \('G', 'M'\)"):
        unit_size('T')
