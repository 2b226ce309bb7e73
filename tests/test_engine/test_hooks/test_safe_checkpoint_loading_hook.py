"""``import elhrnet_mm`` changes nothing of MMEngine; the safe checkpoint
loader and the ``HistoryBuffer`` pickling come from a hook our configs
declare (configs/_base_/default_runtime.py), for the duration of a run."""
import copyreg
import json
import os.path as osp
import pickle
import subprocess
import sys

import pytest
from mmengine.config import Config
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader, Runner
from mmengine.runner.checkpoint import load_from_local

from elhrnet_mm.engine import (AtomicCheckpointHook, AverageLogVarsHook,
                               CheckpointCompatibilityHook,
                               SafeCheckpointLoadingHook)
from elhrnet_mm.utils.checkpoint_safety import load_local_checkpoint

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
TINY = osp.join(ROOT, 'tests', 'data', 'tiny_elhrnet_config.py')

# What MMEngine has registered and how a HistoryBuffer pickles (protocol 2,
# as torch.save), as JSON
PROBE = r'''
import copyreg, json, pickle, sys
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader
import torch

def state():
    return dict(
        loaders={p: f'{f.__module__}.{f.__qualname__}'
                 for p, f in CheckpointLoader._schemes.items()},
        reducer=repr(copyreg.dispatch_table.get(HistoryBuffer)),
        pickle_has_getattr=b'getattr' in pickle.dumps(HistoryBuffer(), 2),
        history_buffer_allowed=HistoryBuffer in getattr(
            torch.serialization, 'get_safe_globals', lambda: [])())

before = state()
import elhrnet_mm
print(json.dumps(dict(before=before, after=state())))
'''


def test_import_changes_nothing_but_the_allow_list():
    ret = subprocess.run([sys.executable, '-c', PROBE],
                         capture_output=True, text=True, cwd=ROOT)
    assert ret.returncode == 0, ret.stderr[-2000:]
    states = json.loads(ret.stdout.strip().splitlines()[-1])
    before, after = states['before'], states['after']
    assert after['loaders'] == before['loaders']
    assert after['loaders'][''] == \
        'mmengine.runner.checkpoint.load_from_local'
    assert after['reducer'] == before['reducer'] == 'None'
    assert after['pickle_has_getattr'] and before['pickle_has_getattr']
    # what the import does do: allow-list the checkpoint types
    assert not before['history_buffer_allowed']
    assert after['history_buffer_allowed']


def test_hook_swaps_in_the_loader_and_restores_it():
    hook = SafeCheckpointLoadingHook()
    assert CheckpointLoader._schemes[''] is load_from_local
    hook.before_run(None)
    try:
        assert CheckpointLoader._schemes[''] is load_local_checkpoint
        assert b'getattr' not in pickle.dumps(HistoryBuffer(), 2)
        buffer = HistoryBuffer()
        buffer.update(2.0)
        again = pickle.loads(pickle.dumps(buffer))
        assert again.current() == 2.0 and again.max_length == 1000000
        hook.before_run(None)  # train() then test(): still one level
    finally:
        hook.after_run(None)
    assert CheckpointLoader._schemes[''] is load_from_local
    assert HistoryBuffer not in copyreg.dispatch_table
    assert b'getattr' in pickle.dumps(HistoryBuffer(), 2)


def test_our_config_declares_the_hooks_and_the_runner_uses_them(tmp_path):
    cfg = Config.fromfile(TINY)
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    hooks = {type(h): h for h in runner.hooks}
    for kind in (AtomicCheckpointHook, SafeCheckpointLoadingHook,
                 CheckpointCompatibilityHook, AverageLogVarsHook):
        assert kind in hooks, kind.__name__
    # the config's checkpoint arguments are kept
    assert hooks[AtomicCheckpointHook].max_keep_ckpts == 1
    runner.call_hook('before_run')
    try:
        assert CheckpointLoader._schemes[''] is load_local_checkpoint
    finally:
        runner.call_hook('after_run')
    assert CheckpointLoader._schemes[''] is load_from_local


@pytest.mark.parametrize('path', sorted(
    p for p in __import__('glob').glob(
        osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p), ids=lambda p: osp.relpath(p, ROOT))
def test_every_shipped_config_declares_the_hooks(path):
    cfg = Config.fromfile(path)
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    types = [h['type'] for h in cfg.custom_hooks]
    assert types[-3:] == [
        'SafeCheckpointLoadingHook', 'CheckpointCompatibilityHook',
        'AverageLogVarsHook'
    ]
    assert 'SyncBuffersHook' in types  # MMPose's own, kept
    assert cfg.custom_imports.imports == ['elhrnet_mm']
