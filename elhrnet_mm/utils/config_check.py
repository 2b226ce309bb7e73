"""Check a config's backbone arguments before anything is built.

A misspelt or mistyped backbone argument otherwise surfaces as Python's
``TypeError: __init__() got an unexpected keyword argument`` deep inside the
Runner, or not at all (a string where an int belongs can fail many layers
later, or silently change behaviour).
"""
import collections.abc
import inspect
import typing
from typing import Optional

_SEQUENCES = (list, tuple, collections.abc.Sequence)
_SCALARS = (int, float, bool, str)


def _accepts(annotation, value) -> Optional[bool]:
    """Whether ``value`` fits ``annotation``; None when it cannot tell.

    Understands the builtin scalars, ``dict``, ``list``/``tuple``/
    ``Sequence`` (of scalars), ``Optional`` and ``Union`` of those. A config
    writes lists and tuples interchangeably, so either fits any sequence.
    ``bool`` does not fit ``int``; ``int`` fits ``float``.
    """
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        verdicts = [_accepts(a, value) for a in typing.get_args(annotation)]
        if any(v is True for v in verdicts):
            return True
        return False if all(v is False for v in verdicts) else None
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation is dict or origin is dict:
        return isinstance(value, dict)
    if annotation in _SEQUENCES or origin in _SEQUENCES:
        if not isinstance(value, (list, tuple)):
            return False
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if len(args) == 1 and args[0] in _SCALARS:
            return all(_accepts(args[0], v) for v in value)
        return True
    return None


def _type_name(annotation) -> str:
    text = getattr(annotation, '__name__', None) or str(annotation)
    return text.replace('typing.', '')


def check_init_kwargs(cls: type, kwargs: dict, where: str) -> None:
    """Raise ValueError if ``cls(**kwargs)`` has unknown or mistyped keys.

    Unknown keys are checked unless ``cls.__init__`` takes ``**kwargs``;
    types only where the parameter is annotated with something
    :func:`_accepts` understands. ``where`` names the config field in the
    message (e.g. ``'model.backbone'``).
    """
    signature = inspect.signature(cls.__init__)
    params = {
        name: p
        for name, p in signature.parameters.items() if name != 'self'
    }
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    named = [
        n for n, p in params.items()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    unknown = sorted(set(kwargs) - set(named))
    if unknown and not takes_any:
        raise ValueError(
            f'{where}: {cls.__name__} has no argument(s) {unknown}; allowed: '
            f'{named}')
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # unresolvable forward references: skip type checks
        hints = {}
    for key, value in kwargs.items():
        if key in hints and _accepts(hints[key], value) is False:
            raise ValueError(
                f'{where}.{key} = {value!r} ({type(value).__name__}) does '
                f'not fit {cls.__name__}; allowed: {_type_name(hints[key])}')


def check_backbone_cfg(cfg) -> None:
    """Check ``cfg.model.backbone`` against its class, before building.

    Raises ValueError naming the field and the allowed keys or type, or an
    unregistered ``type``. Does nothing for configs without a backbone.
    """
    from mmpose.registry import MODELS
    backbone = cfg.get('model', {}).get('backbone')
    if not backbone or 'type' not in backbone:
        return
    kind = backbone['type']
    cls = kind if inspect.isclass(kind) else MODELS.get(kind)
    if cls is None:
        from ..models import backbones
        raise ValueError(
            f'model.backbone.type = {kind!r} is not registered in MMPose\'s '
            'MODELS registry (is its package in custom_imports?); '
            f'elhrnet_mm provides: {backbones.__all__}')
    kwargs = {
        k: v
        for k, v in backbone.items() if k not in ('type', '_scope_')
    }
    check_init_kwargs(cls, kwargs, 'model.backbone')
