"""Check a config's backbone arguments before anything is built.

A misspelt or mistyped backbone argument otherwise surfaces as Python's
``TypeError: __init__() got an unexpected keyword argument`` deep inside the
Runner, or not at all (a string where an int belongs can fail many layers
later, or silently change behaviour).
"""
import ast
import collections.abc
import inspect
import textwrap
import typing
from typing import List, Optional, Tuple

_SEQUENCES = (list, tuple, collections.abc.Sequence)
_SCALARS = (int, float, bool, str)
_PACKAGE = __name__.split('.')[0]


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


def _defining_class(cls: type) -> type:
    """The class in ``cls``'s MRO whose body defines the ``__init__`` that
    ``cls(...)`` runs."""
    return next(k for k in cls.__mro__ if '__init__' in vars(k))


def _kwargs_call(func, var_kw: str) -> Optional[ast.Call]:
    """The one call in ``func``'s body that forwards ``**var_kw``, if
    ``var_kw`` is used for nothing else; otherwise None."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return None
    uses = [
        n for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id == var_kw
    ]
    calls = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and any(
            k.arg is None and isinstance(k.value, ast.Name)
            and k.value.id == var_kw for k in n.keywords)
    ]
    return calls[0] if len(calls) == 1 and len(uses) == 1 else None


def _call_target(call: ast.Call, func, cls: type, owner: type):
    """``(callable, class or None)`` that ``call`` (in ``owner``'s
    ``__init__``, run for an instance of ``cls``) invokes; None if unknown.
    Understands ``super().__init__(...)`` and a call of a module-level
    class or function."""
    callee = call.func
    if (isinstance(callee, ast.Attribute) and callee.attr == '__init__'
            and isinstance(callee.value, ast.Call)
            and isinstance(callee.value.func, ast.Name)
            and callee.value.func.id == 'super' and not callee.value.args):
        later = cls.__mro__[cls.__mro__.index(owner) + 1:]
        parent = next((k for k in later if '__init__' in vars(k)), None)
        return None if parent is None else (parent.__init__, parent)
    if isinstance(callee, ast.Name):
        target = func.__globals__.get(callee.id)
        if inspect.isclass(target):
            return target.__init__, target
        if inspect.isfunction(target):
            return target, None
    return None


def accepted_parameters(cls: type) -> Tuple[List[str], dict, bool]:
    """The keyword arguments ``cls(**kwargs)`` accepts and their type hints.

    Where ``__init__`` takes ``**kwargs`` and forwards them in one call
    (``super().__init__(..., **kwargs)`` or ``SomeClass(..., **kwargs)``),
    that callee's parameters are followed, less those the call fills
    itself (positionally or by keyword), recursively.

    Returns:
        tuple: the parameter names, their type hints, and whether the list
        is complete (False where ``**kwargs`` go somewhere this cannot
        follow, in which case unknown keys cannot be told).
    """
    return _parameters(cls.__init__, cls, _defining_class(cls), True)


def _parameters(func, cls: type, owner: Optional[type],
                bound: bool) -> Tuple[List[str], dict, bool]:
    params = list(inspect.signature(func).parameters.values())
    if bound:
        params = params[1:]  # self
    named = [
        p.name for p in params
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable forward references: skip type checks
        hints = {}
    var_kw = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
    if var_kw is None:
        return named, hints, True
    call = _kwargs_call(func, var_kw)
    target = None if call is None else _call_target(call, func, cls, owner)
    if target is None:
        return named, hints, False
    callee, callee_owner = target
    callee_named, callee_hints, complete = _parameters(
        callee, cls, callee_owner, callee_owner is not None)
    positional = sum(not isinstance(a, ast.Starred) for a in call.args)
    filled = set(callee_named[:positional]) | {
        k.arg
        for k in call.keywords if k.arg is not None
    }
    named += [n for n in callee_named if n not in filled and n not in named]
    return named, {**callee_hints, **hints}, complete


def check_init_kwargs(cls: type, kwargs: dict, where: str) -> None:
    """Raise ValueError if ``cls(**kwargs)`` has unknown or mistyped keys.

    The accepted keys are :func:`accepted_parameters`'s (``**kwargs``
    followed to where they go; only where they cannot be followed are
    unknown keys let through); types are checked where the parameter is
    annotated with something :func:`_accepts` understands. ``where`` names
    the config field in the message (e.g. ``'model.backbone'``).
    """
    named, hints, complete = accepted_parameters(cls)
    unknown = sorted(set(kwargs) - set(named))
    if unknown and complete:
        raise ValueError(
            f'{where}: {cls.__name__} has no argument(s) {unknown}; allowed: '
            f'{named}')
    for key, value in kwargs.items():
        if key in hints and _accepts(hints[key], value) is False:
            raise ValueError(
                f'{where}.{key} = {value!r} ({type(value).__name__}) does '
                f'not fit {cls.__name__}; allowed: {_type_name(hints[key])}')


def _check_nested_blocks(value, where: str, registry) -> None:
    """Check every ``type=`` dict under ``value`` whose type is one of this
    package's classes (blocks chosen by config: ``stage_block``,
    ``conv_bn_cfg``, ...) against that class."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_nested_blocks(item, f'{where}[{i}]', registry)
        return
    if not isinstance(value, dict):
        return
    kind = value.get('type')
    cls = kind if inspect.isclass(kind) else (
        registry.get(kind) if isinstance(kind, str) else None)
    if inspect.isclass(cls) and cls.__module__.startswith(_PACKAGE + '.'):
        check_init_kwargs(cls, _arguments(value), where)
    for key, item in value.items():
        field = f'{where}.{key}' if str(key).isidentifier() else \
            f"{where}['{key}']"
        _check_nested_blocks(item, field, registry)


def _arguments(cfg: dict) -> dict:
    return {
        k: v
        for k, v in cfg.items() if k not in ('type', '_scope_', '_delete_')
    }


def check_backbone_cfg(cfg) -> None:
    """Check ``cfg.model.backbone`` against its class, before building.

    Raises ValueError naming the field and the allowed keys or type, or an
    unregistered ``type``; the blocks it chooses by config (``type=`` dicts
    of this package's classes, e.g. ``stage_block``) are checked the same
    way. Does nothing for configs without a backbone.
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
    kwargs = _arguments(backbone)
    check_init_kwargs(cls, kwargs, 'model.backbone')
    for key, value in kwargs.items():
        _check_nested_blocks(value, f'model.backbone.{key}', MODELS)
