"""Checks of the ``extra`` stage specification of our HRNet-style backbones
(EL-HRNet, Dite-HRNet, CBAM-LiteHRNet) and their default ``init_cfg``,
written once. Each check raises a ValueError naming the field."""
from typing import Sequence

#: MMPose's HRNet / Lite-HRNet initialisation, the backbones' default
#: ``init_cfg`` (``BaseModule`` copies it).
HRNET_INIT_CFG = [
    dict(type='Normal', std=0.001, layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
]
#: Top-level keys of a Lite-HRNet-style ``extra``.
LITE_EXTRA_KEYS = ('stem', 'num_stages', 'stages_spec', 'with_head')


def require_keys(mapping: dict, keys: Sequence[str], field: str) -> None:
    """``field`` (``mapping``) has every one of ``keys``."""
    missing = [k for k in keys if k not in mapping]
    if missing:
        raise ValueError(f'{field} lacks {missing}; needed: {list(keys)}')


def require_entries(values: Sequence, count: int, field: str,
                    count_field: str, per: str) -> None:
    """``field`` (``values``) has ``count`` (``count_field``) entries, one
    per ``per``."""
    if len(values) != count:
        raise ValueError(
            f'{field} has {len(values)} entries but {count_field} is '
            f'{count}; give one entry per {per}')


def require_no_fewer_branches(num_branches: int, previous: int,
                              field: str) -> None:
    """A stage has at least the previous stage's branches."""
    if num_branches < previous:
        raise ValueError(
            f"{field} = {num_branches} is fewer than the previous stage's "
            f'{previous}; allowed: >= {previous}')


def require_even(widths: Sequence[int], field: str, splitter: str) -> None:
    """Every width of ``field`` is even (``splitter`` halves them)."""
    for b, c in enumerate(widths):
        if c % 2:
            raise ValueError(
                f'{field}[{b}] = {c} is odd; {splitter} split channels in '
                'halves, allowed: even widths')


def check_lite_extra(extra: dict, spec_keys: Sequence[str],
                     splitter: str) -> None:
    """A Lite-HRNet-style ``extra``: :data:`LITE_EXTRA_KEYS`;
    ``stages_spec`` with ``spec_keys``, one entry per stage each; branches
    never fewer than the previous stage's; one even width per branch."""
    require_keys(extra, LITE_EXTRA_KEYS, 'extra')
    spec, field = extra['stages_spec'], "extra['stages_spec']"
    require_keys(spec, spec_keys, field)
    num_stages = extra['num_stages']
    for key in spec_keys:
        require_entries(spec[key], num_stages, f"{field}['{key}']",
                        "extra['num_stages']", 'stage')
    previous = 1
    for i, (nb, widths) in enumerate(
            zip(spec['num_branches'], spec['num_channels'])):
        require_no_fewer_branches(nb, previous,
                                  f"{field}['num_branches'][{i}]")
        require_entries(widths, nb, f"{field}['num_channels'][{i}]",
                        f'num_branches[{i}]', 'branch')
        require_even(widths, f"{field}['num_channels'][{i}]", splitter)
        previous = nb
