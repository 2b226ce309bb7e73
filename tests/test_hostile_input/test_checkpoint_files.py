"""Damaged checkpoint files fail with an error naming the file, wherever
MMEngine loads them (``load_checkpoint``, Runner load/resume, ``Pretrained``
init) while safe checkpoint loading is on (``SafeCheckpointLoadingHook``
during a run, :func:`safe_checkpoint_loading` here). A checkpoint whose
pickle would run code is refused by PyTorch's ``weights_only``
(tests/test_e2e/test_stock_config.py)."""
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.runner import load_checkpoint

from elhrnet_mm.utils.checkpoint_safety import (CorruptCheckpointError,
                                                safe_checkpoint_loading)


@pytest.fixture(autouse=True)
def checked_loader():
    with safe_checkpoint_loading():
        yield


@pytest.fixture
def good(tmp_path):
    path = tmp_path / 'good.pth'
    torch.save({'state_dict': nn.Linear(64, 64).state_dict()}, path)
    return path


def damaged(tmp_path, good, how):
    data = bytearray(good.read_bytes())
    if how == 'truncated':
        data = data[:len(data) // 2]
    elif how == 'empty':
        data = b''
    elif how == 'garbage':
        data = bytes(range(256)) * 8
    elif how == 'bit flip':  # inside the tensor data: loads "fine" in torch
        offset = data.rindex(b'PK\x01\x02') // 2
        data[offset] ^= 0xFF
    path = tmp_path / f'{how.replace(" ", "_")}.pth'
    path.write_bytes(bytes(data))
    return str(path)


CASES = {
    'truncated': 'truncated or damaged zip archive',
    'empty': r'is empty \(0 bytes\)',
    'garbage': 'not a readable PyTorch checkpoint',
    'bit flip': 'fails its CRC-32 check',
}


@pytest.mark.parametrize('how', CASES)
def test_load_checkpoint_names_the_file(tmp_path, good, how):
    path = damaged(tmp_path, good, how)
    with pytest.raises(CorruptCheckpointError,
                       match=f"'{path}'.*{CASES[how]}"):
        load_checkpoint(nn.Linear(64, 64), path, map_location='cpu')


def test_bit_flip_would_load_silently_without_the_check(tmp_path, good):
    path = damaged(tmp_path, good, 'bit flip')
    flipped = torch.load(path)['state_dict']
    original = torch.load(good)['state_dict']
    assert any(not torch.equal(flipped[k], original[k]) for k in original)


def test_file_saved_without_crcs_loads(tmp_path):
    path = tmp_path / 'no_crc.pth'
    torch.serialization.set_crc32_options(False)
    try:
        torch.save({'state_dict': nn.Linear(4, 4).state_dict()}, path)
    finally:
        torch.serialization.set_crc32_options(True)
    load_checkpoint(nn.Linear(4, 4), str(path), map_location='cpu')


def test_pretrained_init_from_truncated_file(tmp_path, good):
    path = damaged(tmp_path, good, 'truncated')
    module = BaseModule(init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(CorruptCheckpointError, match='truncated'):
        module.init_weights()


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        load_checkpoint(nn.Linear(2, 2), str(tmp_path / 'nothere.pth'))
