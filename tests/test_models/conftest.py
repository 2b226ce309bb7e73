import copy

import pytest
import torch
import torch.nn as nn


def _randomize_batch_norms(module: nn.Module, seed: int = 0) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)
    return module.eval()


@pytest.fixture
def assert_deploy_exact():
    """``check(module, *inputs)``: with random BN statistics,
    ``fuse_for_inference(module)`` gives the eval-mode outputs (1e-5) and
    leaves no BN; returns the fused copy."""
    from elhrnet_mm.deploy import fuse_for_inference

    def check(module, *inputs):
        module = _randomize_batch_norms(module)
        fused = fuse_for_inference(copy.deepcopy(module))
        with torch.no_grad():
            expected, actual = module(*inputs), fused(*inputs)
        if isinstance(expected, torch.Tensor):
            expected, actual = [expected], [actual]
        for e, a in zip(expected, actual):
            torch.testing.assert_close(a, e, rtol=0, atol=1e-5)
        assert not any(
            isinstance(m, nn.modules.batchnorm._BatchNorm)
            for m in fused.modules())
        return fused

    return check
