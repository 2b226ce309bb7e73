"""Layers point down (docs/architecture.md): ``elhrnet_mm.models`` never
imports ``deploy``, ``engine``, the analysis/complexity code or ``tools``,
and no command-line tool imports another one.

The imports are read from the syntax tree of every file (module-level and
function-level ones, relative ones resolved to absolute names, and
``importlib.import_module``/``__import__`` with a literal name), not grepped.
"""
import ast
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'elhrnet_mm'
TOOLS = ROOT / 'tools'

#: What ``elhrnet_mm.models`` may not import (a name or a submodule of it).
FORBIDDEN_IN_MODELS = ('elhrnet_mm.deploy', 'elhrnet_mm.engine',
                       'elhrnet_mm.utils.complexity', 'elhrnet_mm.analysis',
                       'tools')
#: Calls that load code by name or path.
_DYNAMIC_IMPORTS = {'import_module', '__import__'}
_LOAD_BY_PATH = {'spec_from_file_location', 'run_path', 'SourceFileLoader'}


def module_name(path: Path) -> str:
    """``elhrnet_mm/models/blocks/cbam.py`` -> ``elhrnet_mm.models.blocks.
    cbam``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def _resolve(module: str, is_package: bool, level: int,
             target: Optional[str]) -> str:
    """The absolute name of ``from <level dots><target> import ...`` in
    ``module``."""
    if level == 0:
        return target or ''
    base = module.split('.')
    # a package's own ``.`` is itself, a module's ``.`` its package
    base = base[:len(base) - level + (1 if is_package else 0)]
    return '.'.join(base + ([target] if target else []))


def imported_names(source: str, module: str,
                   is_package: bool = False) -> Iterator[Tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, at any
    depth: ``import a.b`` -> ``a.b``; ``from .x import y`` -> ``pkg.x``
    and ``pkg.x.y`` (``y`` may be a submodule); ``import_module('a.b')``
    with a literal name -> ``a.b``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            if node.module:
                yield node.lineno, base
            for alias in node.names:
                if alias.name != '*':
                    yield node.lineno, f'{base}.{alias.name}'.lstrip('.')
        elif isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, 'attr', getattr(func, 'id', None))
            if (name in _DYNAMIC_IMPORTS and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                yield node.lineno, node.args[0].value


def _is_under(name: str, prefixes: Tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def forbidden_imports(path: Path,
                      prefixes: Tuple[str, ...]) -> List[str]:
    module = module_name(path)
    source = path.read_text(encoding='utf-8')
    return [
        f'{path.relative_to(ROOT)}:{line} imports {name}'
        for line, name in imported_names(source, module,
                                         path.name == '__init__.py')
        if _is_under(name, prefixes)
    ]


def test_resolution_of_relative_and_nested_imports():
    """The checker sees what the test relies on (so it can fail)."""
    source = ('import os\n'
              'from ..utils.bn_folding import fold_affine\n'
              'def f():\n'
              '    from ...deploy.fuse import fold_bn_into\n'
              '    from ... import engine\n'
              '    importlib.import_module("tools.leaderboard")\n')
    names = [n for _, n in imported_names(source,
                                          'elhrnet_mm.models.blocks.x')]
    assert 'elhrnet_mm.models.utils.bn_folding' in names
    assert 'elhrnet_mm.deploy.fuse' in names
    assert 'elhrnet_mm.engine' in names
    assert 'tools.leaderboard' in names
    flagged = [n for n in names if _is_under(n, FORBIDDEN_IN_MODELS)]
    assert flagged == ['elhrnet_mm.deploy.fuse',
                       'elhrnet_mm.deploy.fuse.fold_bn_into',
                       'elhrnet_mm.engine', 'tools.leaderboard']
    # a package's ``.`` is the package itself
    assert list(imported_names('from .blocks import CBAM',
                               'elhrnet_mm.models', is_package=True)) == [
                                   (1, 'elhrnet_mm.models.blocks'),
                                   (1, 'elhrnet_mm.models.blocks.CBAM')
                               ]


MODEL_FILES = sorted((PACKAGE / 'models').rglob('*.py'))


def test_models_are_found():
    names = {module_name(p) for p in MODEL_FILES}
    assert 'elhrnet_mm.models.blocks.dynamic_kernel_conv' in names
    assert 'elhrnet_mm.models.utils.bn_folding' in names


@pytest.mark.parametrize(
    'path', MODEL_FILES,
    ids=[str(p.relative_to(PACKAGE / 'models')) for p in MODEL_FILES])
def test_models_only_import_downwards(path):
    assert forbidden_imports(path, FORBIDDEN_IN_MODELS) == []


def tool_problems(source: str, where: str, module: str,
                  tool_modules: set) -> List[str]:
    """Ways a tool's ``source`` reaches another tool: importing ``tools.*``
    or a module named like a file under tools/ (after a ``sys.path``
    edit), editing ``sys.path``, loading code by file path."""
    problems = [
        f'{where}:{line} imports {name}'
        for line, name in imported_names(source, module)
        if _is_under(name, ('tools', )) or name.split('.')[0] in tool_modules
    ]
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Attribute) and node.attr == 'path'
                and isinstance(node.value, ast.Name)
                and node.value.id == 'sys'):
            problems.append(f'{where}:{node.lineno} uses sys.path')
        elif isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, 'attr', getattr(func, 'id', None))
            if name in _LOAD_BY_PATH:
                problems.append(f'{where}:{node.lineno} loads code by path '
                                f'({name})')
    return problems


TOOL_FILES = sorted(TOOLS.rglob('*.py'))
TOOL_MODULES = {p.stem for p in TOOL_FILES} - {'__init__'}


def test_tool_checker_sees_sys_path_sibling_imports_and_path_loading():
    source = ('import sys\n'
              'import argparse\n'
              'from elhrnet_mm.analysis import counters\n'
              'sys.path.insert(0, "x")\n'
              'from get_flops import measure_config\n'
              'def main():\n'
              '    from tools.leaderboard import render\n'
              '    importlib.util.spec_from_file_location("m", "m.py")\n')
    assert 'get_flops' in TOOL_MODULES
    assert sorted(
        tool_problems(source, 'fake.py', 'tools.fake', TOOL_MODULES)) == [
            'fake.py:4 uses sys.path',
            'fake.py:5 imports get_flops',
            'fake.py:5 imports get_flops.measure_config',
            'fake.py:7 imports tools.leaderboard',
            'fake.py:7 imports tools.leaderboard.render',
            'fake.py:8 loads code by path (spec_from_file_location)',
        ]


def test_tools_do_not_import_each_other():
    problems = [
        p for path in TOOL_FILES for p in tool_problems(
            path.read_text(encoding='utf-8'), str(path.relative_to(ROOT)),
            module_name(path), TOOL_MODULES)
    ]
    assert problems == []


def test_no_test_loads_code_by_file_path():
    """Tests import what they exercise from the package (command lines from
    ``elhrnet_mm.cli``), never a tool by file path. (Subprocess tests that
    load one module alone on purpose, e.g. ``pipeline.py`` with torch
    blocked, do so in the child's script text, not in the test's code.)"""
    problems = []
    for path in sorted((ROOT / 'tests').rglob('*.py')):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _LOAD_BY_PATH):
                problems.append(f'{path.relative_to(ROOT)}:{node.lineno}')
    assert problems == []
