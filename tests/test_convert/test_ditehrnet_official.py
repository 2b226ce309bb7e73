"""Official Dite-HRNet checkpoints -> our DiteHRNet (issue 13 item 4).

The official checkpoints are built by :mod:`official_ditehrnet` from the
official module structure, not from our model.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from official_ditehrnet import official_shapes, official_state_dict

from elhrnet_mm.convert.ditehrnet_official import (ConversionError,
                                                   convert_checkpoint,
                                                   reference_estimator)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'model_converters', 'ditehrnet2elhrnet_mm.py')


def _save_official(path, state):
    # an MMPose 0.x (mmcv 1.x runner) checkpoint: meta + state_dict
    torch.save(dict(meta=dict(mmcv_version='1.3.8', epoch=270,
                              config='model = dict(type="TopDown")'),
                    state_dict=state), path)


@pytest.fixture(scope='module')
def estimators():
    cache = {}

    def get(depth):
        if depth not in cache:
            cache[depth] = reference_estimator(
                osp.join(ROOT, 'configs', 'dite_hrnet',
                         f'td-hm_dite-hrnet-{depth}_8xb32-270e_coco-'
                         '256x192.py'))
        return cache[depth]

    return get


@pytest.mark.parametrize('depth', [18, 30])
def test_round_trip_into_model_that_runs(tmp_path, estimators, depth):
    official = official_state_dict(depth)
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'ours.pth')
    _save_official(src, official)
    report = convert_checkpoint(src, dst)
    assert (report['depth'], report['keypoints']) == (depth, 17)
    assert report['config'].endswith(
        f'td-hm_dite-hrnet-{depth}_8xb32-270e_coco-256x192.py')

    # exactly the last-branch conv_mask of every DCM is dropped: stage s
    # has s + 2 branches, NUM_MODULES[s] modules of 2 blocks each
    modules = {18: (2, 4, 2), 30: (3, 8, 3)}[depth]
    expected_dropped = {
        f'backbone.stage{s}.{m}.layers.{k}.dcm.conv_mask.{s + 1}.{p}'
        for s in range(3) for m in range(modules[s]) for k in range(2)
        for p in ('weight', 'bias')
    }
    assert set(report['dropped']) == expected_dropped
    assert report['tensors'] == len(official) - len(expected_dropped)

    model = estimators(depth)
    converted = torch.load(dst, weights_only=True)
    assert converted['meta']['dropped'] == sorted(expected_dropped)
    model.load_state_dict(converted['state_dict'], strict=True)
    ours = model.state_dict()
    # values land where the official structure says
    pairs = {
        'backbone.stem.conv1.conv.weight': 'backbone.stem.conv1.conv.weight',
        'backbone.stem.branch2.3.conv.aggregation.weight':
        'backbone.stem.block.branch2.expand.0.aggregation.weight',
        'backbone.stem.branch1.1.channel_attention.1.running_var':
        'backbone.stem.block.branch1.gcm.channel_attention.0.bn.running_var',
        'backbone.stage2.1.layers.1.conv.3.conv.2.conv.weight':
        'backbone.stage2.1.layers.1.dsc.3.convs.2.0.weight',
        'backbone.stage1.0.layers.0.conv.0.conv.0.conv.attention.conv2.bias':
        'backbone.stage1.0.layers.0.dsc.0.convs.0.0.fc.bias',
        'backbone.stage1.0.layers.0.dcm.conv_mask.1.weight':
        'backbone.stage1.0.layers.0.dcm.conv_masks.1.weight',
        'backbone.stage0.0.layers.1.gcm.1.bn.weight':
        'backbone.stage0.0.layers.1.gcm.1.norm.weight',
        'backbone.stage2.0.fuse_layers.3.0.2.3.running_mean':
        'backbone.stage2.0.fuse_layers.3.0.2.3.running_mean',
        'keypoint_head.final_layer.weight': 'head.final_layer.weight',
    }
    for theirs, mine in pairs.items():
        assert torch.equal(ours[mine], official[theirs]), (theirs, mine)

    torch.manual_seed(0)
    with torch.no_grad():
        heatmaps = model(torch.randn(1, 3, 128, 96))
    assert heatmaps.shape == (1, 17, 32, 24)
    assert torch.isfinite(heatmaps).all()


def test_mpii_checkpoint_picks_mpii_config(tmp_path):
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'ours.pth')
    _save_official(src, official_state_dict(18, keypoints=16))
    report = convert_checkpoint(src, dst)
    assert report['keypoints'] == 16
    assert report['config'].endswith('mpii-256x256.py')
    assert osp.isfile(dst)


def _expect_refusal(tmp_path, state_or_bytes, *fragments, config=None):
    src, dst = str(tmp_path / 'in.pth'), str(tmp_path / 'out.pth')
    if isinstance(state_or_bytes, bytes):
        with open(src, 'wb') as f:
            f.write(state_or_bytes)
    else:
        _save_official(src, state_or_bytes)
    with pytest.raises(Exception) as info:
        convert_checkpoint(src, dst, config=config)
    message = str(info.value)
    assert src in message
    for fragment in fragments:
        assert fragment in message, message
    # nothing written, no temp file left behind
    assert os.listdir(tmp_path) == ['in.pth']


def test_refuses_a_file_that_is_not_a_checkpoint(tmp_path):
    _expect_refusal(tmp_path, b'model = dict(type="TopDown")\n',
                    'not a readable PyTorch checkpoint')


def test_refuses_a_checkpoint_without_tensors(tmp_path):
    src = str(tmp_path / 'in.pth')
    torch.save({'meta': {'epoch': 3}, 'epochs': [1, 2]}, src)
    with pytest.raises(ConversionError, match='not a model checkpoint'):
        convert_checkpoint(src, str(tmp_path / 'out.pth'))
    assert os.listdir(tmp_path) == ['in.pth']


def test_refuses_another_depth(tmp_path):
    state = official_state_dict(18)
    # a third module in the last stage: (2, 4, 3) is no official depth
    for key in [k for k in state if k.startswith('backbone.stage2.1.')]:
        state[key.replace('stage2.1.', 'stage2.2.')] = state[key]
    _expect_refusal(tmp_path, state, '(2, 4, 3)', 'Dite-HRNet-18 (2, 4, 2)',
                    'Dite-HRNet-30 (3, 8, 3)')


def test_refuses_a_checkpoint_of_another_depth_than_the_config(tmp_path):
    config = osp.join(ROOT, 'configs', 'dite_hrnet',
                      'td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py')
    _expect_refusal(tmp_path, official_state_dict(30),
                    'converted keys the model of', 'backbone.stage0.2.layers',
                    config=config)


def test_refuses_another_architecture(tmp_path):
    # a Lite-HRNet-18-like checkpoint: same module counts, other blocks
    state = official_state_dict(18)
    lite = {}
    for key, value in state.items():
        lite[key.replace('.dcm.', '.cross_resolution_weighting.')] = value
    _expect_refusal(tmp_path, lite, 'official keys no rule covers',
                    'cross_resolution_weighting.channel_attention',
                    'keys of the model of')


def test_lists_missing_extra_and_misshaped_keys(tmp_path):
    state = official_state_dict(18)
    missing = 'backbone.stage1.2.layers.0.gcm.2.conv_mask.weight'
    del state[missing]
    state['backbone.stage0.0.layers.0.conv.0.conv.0.conv.aggregation.bias'] \
        = torch.zeros(4, 20)
    shaped = 'backbone.transition1.2.0.2.weight'
    state[shaped] = torch.zeros(96, 80, 1, 1)
    _expect_refusal(
        tmp_path, state, 'official keys no rule covers',
        'backbone.stage0.0.layers.0.conv.0.conv.0.conv.aggregation.bias',
        'missing in it', 'backbone.stage1.2.layers.0.gcm.2.conv_mask.weight',
        'tensors of another shape',
        f'{shaped} (96, 80, 1, 1) -> {shaped} (160, 80, 1, 1)')


def test_head_out_of_the_shipped_configs(tmp_path):
    _expect_refusal(tmp_path, official_state_dict(18, keypoints=14),
                    '14 keypoints', '--config')


def test_official_structure_has_the_official_size():
    """Cross-check of the generator: the official models' parameters
    (BN statistics aside), the unused DCM masks included, are 1,186,933
    (Dite-HRNet-18) and 1,862,549 (-30) with the 40->17 final conv
    (shared/reference/ARCHITECTURE_NOTES.md)."""
    for depth, params in ((18, 1186933), (30, 1862549)):
        total = sum(
            torch.Size(shape).numel()
            for key, shape in official_shapes(depth).items()
            if not key.endswith(('running_mean', 'running_var',
                                 'num_batches_tracked')))
        assert total == params


@pytest.mark.slow  # two subprocesses importing mmpose
def test_command_line(tmp_path):
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'ours.pth')
    _save_official(src, official_state_dict(18, keypoints=16))
    run = subprocess.run([sys.executable, TOOL, src, dst],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert 'Dite-HRNet-18, 16 keypoints' in run.stdout
    assert 'dropped 32 tensors' in run.stdout  # 16 DCMs x (weight, bias)
    assert 'never uses' in run.stdout
    bad = str(tmp_path / 'bad.pth')
    with open(bad, 'w') as f:
        f.write('not a checkpoint')
    run = subprocess.run([sys.executable, TOOL, bad, dst + '2'],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1
    assert bad in run.stderr and not osp.exists(dst + '2')
