"""FLOPs units of the published rows, defined once.

Papers print FLOPs in G or M; a published row says which in its
``flops_unit`` (G when the row leaves it out). Whether a G is 10**9 or
2**30 depends on the counting convention: the torchstat of the official
Lite-HRNet / Dite-HRNet repositories prints binary units
(``'torchstat-binary'``), everything else is decimal.
"""
from typing import Tuple

#: The units a published row may give its FLOPs in.
FLOPS_UNITS: Tuple[str, ...] = ('G', 'M')
#: The unit of a row that does not name one.
DEFAULT_FLOPS_UNIT = 'G'

_DECIMAL = {'G': 1e9, 'M': 1e6}
_BINARY = {'G': 2**30, 'M': 2**20}


def check_unit(unit: str) -> str:
    """``unit`` if it is one of :data:`FLOPS_UNITS`, else ValueError."""
    if unit not in FLOPS_UNITS:
        raise ValueError(f'unknown FLOPs unit {unit!r}; expected one of '
                         f'{FLOPS_UNITS}')
    return unit


def unit_size(unit: str, binary: bool = False) -> float:
    """How many FLOPs one ``unit`` is: 1e9 for G, 2**30 for binary G."""
    return (_BINARY if binary else _DECIMAL)[check_unit(unit)]


def in_unit(flops: float, unit: str, binary: bool = False) -> float:
    """A FLOPs count expressed in ``unit``."""
    return flops / unit_size(unit, binary)


def to_giga(value: float, unit: str) -> float:
    """A printed value in ``unit`` (G or M) expressed in G, same base."""
    return value * unit_size(unit) / unit_size('G')
