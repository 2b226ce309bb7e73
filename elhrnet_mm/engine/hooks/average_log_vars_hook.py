"""Log losses averaged over all processes, not rank 0's alone."""
import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmpose.registry import HOOKS


@HOOKS.register_module()
class AverageLogVarsHook(Hook):
    """Replace each scalar of a training step's ``log_vars`` by its mean over
    all processes before it is logged.

    Only rank 0 writes logs, and without this hook it writes its own
    shard's loss; with it the logged loss is that of the whole global batch
    (every rank holds an equal share under MMEngine's ``DefaultSampler``), so
    curves of runs with different process counts compare directly. Costs one
    all-reduce of a few scalars per iteration; nothing when not distributed.
    Gradients are unaffected (they are averaged by DDP).
    """

    # before RuntimeInfoHook (VERY_HIGH) copies outputs into the message hub
    priority = 'HIGHEST'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not outputs or get_world_size() == 1:
            return
        keys = [
            k for k, v in outputs.items()
            if isinstance(v, torch.Tensor) and v.numel() == 1
        ]
        if not keys:
            return
        values = torch.stack(
            [outputs[k].detach().float().reshape(()) for k in keys])
        all_reduce(values, op='mean')
        for key, value in zip(keys, values):
            outputs[key] = value
