"""``mim train/test elhrnet_mm`` from an editable and from a regular install."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'td-hm_el-hrnet-w32-small_1xb32-8e_synthcoco-128x96.py'
MIM = osp.join(osp.dirname(sys.executable), 'mim')

pytestmark = pytest.mark.slow


def tiny_options(data_root):
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'param_scheduler=[]', 'default_hooks.logger.interval=1',
            'default_hooks.checkpoint.interval=1']
    for split in ('train', 'val', 'test'):
        key = f'{split}_dataloader'
        opts += [f'{key}.batch_size=4', f'{key}.num_workers=0',
                 f'{key}.persistent_workers=False']
        ds = f'{key}.dataset'
        opts += [f'{ds}.data_root={data_root}', f'{ds}.num_train_images=12',
                 f'{ds}.num_val_images=6', f'{ds}.seed=1']
    return ['--cfg-options'] + opts


def mim(args, env=None, cwd=None):
    ret = subprocess.run([MIM] + args, capture_output=True, text=True,
                         env=env, cwd=cwd)
    assert ret.returncode == 0, (ret.stdout[-3000:], ret.stderr[-3000:])
    return ret.stdout + ret.stderr


def train_and_test(work, tiny_coco, env=None, cwd=None):
    out = mim(['train', 'elhrnet_mm', CONFIG, '--work-dir', str(work)] +
              tiny_options(tiny_coco), env=env, cwd=cwd)
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    assert '(VERY_LOW    ) AtomicCheckpointHook' in out
    metrics_file = work / 'metrics.json'
    out += mim(['test', 'elhrnet_mm', CONFIG, '--checkpoint', str(ckpt),
                '--work-dir', str(work / 'test'), '--out', str(metrics_file)]
               + tiny_options(tiny_coco), env=env, cwd=cwd)
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    return out


def test_mim_from_editable_install(tmp_path, tiny_coco):
    out = train_and_test(tmp_path / 'work', tiny_coco, cwd=tmp_path)
    # the config was found by name inside the package, through .mim/configs
    assert osp.join(ROOT, 'configs', 'quickstart', CONFIG) in out
    assert osp.join(ROOT, 'elhrnet_mm', '.mim', 'tools', 'train.py') in out


def test_mim_from_regular_install(tmp_path, tiny_coco):
    wheels, target = tmp_path / 'wheels', tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                    '--no-build-isolation', ROOT, '-w', str(wheels)],
                   check=True, capture_output=True)
    wheel, = glob.glob(str(wheels / '*.whl'))
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--target', str(target), wheel],
                   check=True, capture_output=True)
    installed = target / 'elhrnet_mm' / '.mim'
    assert (installed / 'configs' / 'quickstart' / CONFIG).is_file()
    # the runtime every config inherits (relative _base_ inside the package)
    assert (installed / 'configs' / '_base_' / 'default_runtime.py').is_file()
    assert (installed / 'tools' / 'train.py').is_file()
    assert (installed / 'model-index.yml').is_file()
    env = dict(os.environ, PYTHONPATH=str(target))
    out = train_and_test(tmp_path / 'work', tiny_coco, env=env, cwd=tmp_path)
    assert str(installed / 'tools' / 'train.py') in out
    assert str(installed / 'configs' / 'quickstart' / CONFIG) in out
