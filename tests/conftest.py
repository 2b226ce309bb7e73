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
