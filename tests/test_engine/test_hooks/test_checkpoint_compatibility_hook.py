from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.config import Config

from elhrnet_mm.engine import CheckpointCompatibilityHook
from elhrnet_mm.utils.checkpoint_safety import CheckpointMismatchError


def runner_with(model, load_from='ckpt.pth'):
    warnings = []
    logger = SimpleNamespace(warning=warnings.append)
    runner = SimpleNamespace(
        model=model, cfg=Config(dict(load_from=load_from)), logger=logger)
    return runner, warnings


def net(width=4):
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width))


def test_matching_checkpoint_passes_with_module_prefix():
    runner, warnings = runner_with(net())
    state = {f'module.{k}': v for k, v in net().state_dict().items()}
    CheckpointCompatibilityHook().after_load_checkpoint(
        runner, {'state_dict': state})
    assert warnings == []


def test_other_architecture_is_refused_listing_keys():
    runner, _ = runner_with(net())
    other = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 2, 1))
    with pytest.raises(CheckpointMismatchError) as err:
        CheckpointCompatibilityHook().after_load_checkpoint(
            runner, {'state_dict': other.state_dict()})
    msg = str(err.value)
    assert 'ckpt.pth does not fit the model' in msg
    assert '1.running_mean' in msg  # missing
    assert '2.weight' in msg  # unexpected
    assert '0.weight (8, 3, 3, 3) vs model (4, 3, 3, 3)' in msg  # shape
    assert 'allow_partial=True' in msg


def test_partial_load_on_request_warns():
    runner, warnings = runner_with(net())
    CheckpointCompatibilityHook(allow_partial=True).after_load_checkpoint(
        runner, {'state_dict': net(8).state_dict()})
    warning, = warnings
    assert 'tensors of another shape' in warning
    with pytest.raises(ValueError, match='allow_partial must be True or'):
        CheckpointCompatibilityHook(allow_partial='yes')
