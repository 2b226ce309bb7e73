from mmengine.config import Config

from elhrnet_mm.engine import use_safe_hooks


def test_swaps_checkpoint_hook_and_adds_hooks_once():
    cfg = Config(
        dict(
            default_hooks=dict(
                checkpoint=dict(type='CheckpointHook', interval=5)),
            custom_hooks=[dict(type='EMAHook')]))
    use_safe_hooks(cfg)
    use_safe_hooks(cfg)
    assert cfg.default_hooks.checkpoint == dict(
        type='AtomicCheckpointHook', interval=5)
    assert [h['type'] for h in cfg.custom_hooks] == [
        'EMAHook', 'CheckpointCompatibilityHook', 'AverageLogVarsHook'
    ]


def test_keeps_user_choices():
    cfg = Config(
        dict(
            default_hooks=dict(checkpoint=dict(type='MyCheckpointHook')),
            custom_hooks=[
                dict(type='CheckpointCompatibilityHook', allow_partial=True)
            ]))
    use_safe_hooks(cfg)
    assert cfg.default_hooks.checkpoint.type == 'MyCheckpointHook'
    assert cfg.custom_hooks[0] == dict(
        type='CheckpointCompatibilityHook', allow_partial=True)
    assert len(cfg.custom_hooks) == 2
    flexible = Config(
        dict(runner_type='FlexibleRunner',
             default_hooks=dict(checkpoint=dict(type='CheckpointHook'))))
    use_safe_hooks(flexible)
    assert flexible.default_hooks.checkpoint.type == 'CheckpointHook'
