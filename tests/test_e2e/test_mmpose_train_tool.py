"""MMPose's own tools/train.py (the one ``mim train mmpose`` runs, shipped in
the mmpose wheel) on one of our configs runs the hooks the config declares
(configs/_base_/default_runtime.py): checkpoints are written by
AtomicCheckpointHook and load under ``torch.load(weights_only=True)``."""
import os.path as osp
import sys

import mmpose
import pytest
import torch

from elhrnet_mm.engine.hooks.atomic_checkpoint_hook import RNG_STATES_KEY

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'test_tools'))
from tiny_run import run, write_config  # noqa: E402

pytestmark = pytest.mark.slow

MMPOSE_TRAIN = osp.join(osp.dirname(mmpose.__file__), '.mim', 'tools',
                        'train.py')


def test_mmpose_train_tool_writes_atomic_checkpoints(tmp_path, tiny_coco):
    assert osp.isfile(MMPOSE_TRAIN)
    config = write_config(tmp_path / 'tiny.py', tiny_coco, {
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 10,
    })
    work = tmp_path / 'work'
    code, out = run(
        [sys.executable, MMPOSE_TRAIN, config, '--work-dir',
         str(work)])
    assert code == 0, out[-3000:]
    # the Runner's hook table lists ours, MMEngine's CheckpointHook is gone
    assert '(VERY_LOW    ) AtomicCheckpointHook' in out
    assert '(VERY_LOW    ) CheckpointHook' not in out
    assert '(HIGHEST     ) SafeCheckpointLoadingHook' in out
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    assert not (work / 'epoch_1.pth.partial').exists()
    assert (work / 'last_checkpoint').read_text().strip() == str(ckpt)
    # only AtomicCheckpointHook stores the generators in the meta, and the
    # HistoryBuffer reducer (SafeCheckpointLoadingHook) makes the file load
    # under weights_only with nothing but the allow-list of the import
    checkpoint = torch.load(str(ckpt), map_location='cpu', weights_only=True)
    assert RNG_STATES_KEY in checkpoint['meta']
    assert checkpoint['meta']['epoch'] == 1
