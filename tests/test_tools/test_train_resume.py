"""A run SIGKILLed mid-epoch and restarted with ``--resume`` ends exactly
like an uninterrupted one (CPU, deterministic, same seed)."""
import json
import os

import pytest
import torch

import tiny_run

pytestmark = pytest.mark.slow

KILL_AT_ITER = 10  # of 14: in epoch 2 (7 iterations per epoch)


@pytest.fixture(scope='module')
def runs(tmp_path_factory, tiny_coco):
    tmp = tmp_path_factory.mktemp('resume')
    whole_dir, work = tmp / 'whole', tmp / 'interrupted'

    def config(name, work_dir, **options):
        # CocoMetric also dumps its predictions (the untrained tiny model's
        # AP is 0, so the predictions say more than the metric values)
        options['val_evaluator.outfile_prefix'] = str(work_dir / 'preds')
        return tiny_run.write_config(tmp / name, tiny_coco, options)

    # random flips and rotations: resume must also restore the generators
    killed = config(
        'killed.py', work, **{
            'custom_imports.imports': ['elhrnet_mm', 'sigkill_hook'],
            # the config's own hooks (safe checkpoints) and the killer
            'custom_hooks': tiny_run.tiny_custom_hooks() +
            [dict(type='SigkillHook', at_iter=KILL_AT_ITER)],
        })
    # the uninterrupted reference and the run to kill, side by side
    whole = tiny_run.start(
        tiny_run.train_args(config('whole.py', whole_dir), whole_dir))
    rc, log = tiny_run.finish(
        tiny_run.start(
            tiny_run.train_args(killed, work), PYTHONPATH=tiny_run.HERE))
    after_kill = dict(
        rc=rc,
        files=sorted(os.listdir(work)),
        last=(work / 'last_checkpoint').read_text())
    rc, log = tiny_run.train(config('resume.py', work), work, '--resume')
    assert rc == 0, log[-3000:]
    rc, whole_log = tiny_run.finish(whole)
    assert rc == 0, whole_log[-3000:]
    return whole_dir, work, after_kill, log


def test_kill_leaves_last_complete_checkpoint(runs):
    _, work, after_kill, _ = runs
    assert after_kill['rc'] == -9
    assert after_kill['last'] == str(work / 'epoch_1.pth')
    assert 'epoch_1.pth' in after_kill['files']
    assert not [f for f in after_kill['files'] if f.endswith('.partial')]


def test_resume_continues_from_epoch_1_with_saved_generators(runs):
    *_, log = runs
    assert 'resumed epoch: 1, iter: 7' in log
    assert 'Restored the random-generator states' in log


def test_resumed_run_ends_with_identical_weights_and_metrics(runs):
    whole, work, *_ = runs
    ref, got = (tiny_run.weights(d / 'epoch_2.pth') for d in (whole, work))
    assert ref.keys() == got.keys()
    for key in ref:
        assert torch.equal(ref[key], got[key]), key
    # epoch 2's losses, iteration by iteration, and the final validation
    ref_train, ref_val = tiny_run.scalars(whole)
    got_train, got_val = tiny_run.scalars(work)
    assert [r['loss'] for r in got_train] == [r['loss'] for r in ref_train[7:]]
    metric_keys = [k for k in ref_val[-1] if k.startswith('coco/')]
    assert metric_keys
    assert {k: got_val[-1][k] for k in metric_keys} == {
        k: ref_val[-1][k] for k in metric_keys}
    predictions = [
        json.loads((d / 'preds.keypoints.json').read_text())
        for d in (whole, work)
    ]
    assert predictions[0] and predictions[0] == predictions[1]
