import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def tiny_coco(tmp_path_factory):
    """A small synthetic COCO-format dataset root (12 train, 6 val images)."""
    from elhrnet_mm.datasets import ensure_synthetic_coco
    root = tmp_path_factory.mktemp('data') / 'synthetic_coco'
    return ensure_synthetic_coco(
        str(root), num_train_images=12, num_val_images=6, seed=1)


@pytest.fixture
def assert_usage_error(capsys):
    """``check(main, argv, message)``: a command line's ``main(argv)`` exits
    with argparse's usage-error status 2 and ``message`` on stderr."""

    def check(main, argv, message):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err

    return check


@pytest.fixture
def random_eval_mix():
    """``build(groups=None, c=6, seed=0)``: an EDMC MixConv of 3 stages in
    eval mode with a non-trivial BN (``groups=None``: depthwise)."""
    import torch
    import torch.nn as nn
    from elhrnet_mm.models.blocks.edmc_block import MixConv

    def build(groups=None, c=6, seed=0):
        torch.manual_seed(seed)
        mix = MixConv(3, c, groups=groups)
        nn.init.normal_(mix.conv.weight, std=0.2)
        bn = mix.norm
        bn.running_mean.normal_(0, 0.3)
        bn.running_var.uniform_(0.5, 1.5)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.normal_(0, 0.3)
        return mix.eval()

    return build
