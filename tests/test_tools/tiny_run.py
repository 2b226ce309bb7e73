"""Test helper: run tools/train.py on the tiny EL-HRNet config.

Not a test module. Runs are CPU subprocesses with one thread per process
(``OMP_NUM_THREADS=1``), so they are deterministic and comparable.
"""
import glob
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys

import torch
from mmengine.config import Config

import elhrnet_mm  # noqa: F401  (checkpoints load with weights_only)

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_elhrnet_config.py')
TRAIN = osp.join(ROOT, 'tools', 'train.py')


def write_config(path, data_root, options=None):
    """The tiny config on ``data_root`` (+ ``options``), written to ``path``.
    """
    cfg = Config.fromfile(TINY_CONFIG)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = data_root
    cfg.merge_from_dict(options or {})
    cfg.dump(str(path))
    return str(path)


def tiny_custom_hooks():
    """The tiny config's ``custom_hooks`` (MMPose's and our runtime's), to
    extend rather than replace with ``--cfg-options``/``options``."""
    return [dict(h) for h in Config.fromfile(TINY_CONFIG).custom_hooks]


def env(**extra):
    # CPU processes (gloo) even where GPUs exist
    out = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore',
               CUDA_VISIBLE_DEVICES='')
    out.update(extra)
    return out


def start(args, **env_extra):
    """Start a command in a session of its own (see :func:`finish`)."""
    return subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(**env_extra),
        cwd=ROOT,
        start_new_session=True)


def finish(proc, timeout=300):
    """Wait for ``proc``; returns (returncode, stdout and stderr together).

    On a timeout the whole session is killed, torchrun's workers included.
    """
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, out


def run(args, **env_extra):
    return finish(start(args, **env_extra))


def train_args(config, work_dir, *extra):
    return [sys.executable, TRAIN, config, '--work-dir', str(work_dir)
            ] + list(extra)


def train(config, work_dir, *extra, **env_extra):
    return run(train_args(config, work_dir, *extra), **env_extra)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def weights(ckpt):
    return torch.load(str(ckpt), map_location='cpu')['state_dict']


def scalars(work_dir):
    """The logged scalars of the latest run in ``work_dir``: train
    iterations' and val epochs', in order."""
    path = sorted(
        glob.glob(osp.join(str(work_dir), '*', 'vis_data',
                           'scalars.json')))[-1]
    rows = [json.loads(line) for line in open(path)]
    train = [r for r in rows if 'loss' in r]
    val = [r for r in rows if any(k.startswith('coco/') for k in r)]
    return train, val
