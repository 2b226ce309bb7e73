"""Fail early, and helpfully, when a config's dataset files are missing."""
import os.path as osp
from typing import Iterable, List

DOCS_HINT = ('see docs/datasets.md for how to download and lay out the '
             'data (MMPose layout: data/coco, data/mpii, data/crowdpose)')

# Dataset types that create their own files on first use.
SELF_GENERATING = ('SyntheticCocoDataset', )


def _dataset_paths(dataset: dict, where: str) -> List[tuple]:
    """(field, path) pairs a dataset config reads from disk."""
    if dataset.get('type') in SELF_GENERATING:
        return []
    if 'datasets' in dataset:  # CombinedDataset and friends
        out = []
        for i, sub in enumerate(dataset['datasets']):
            out += _dataset_paths(sub, f'{where}.datasets[{i}]')
        return out
    if 'dataset' in dataset:  # RepeatDataset and friends
        return _dataset_paths(dataset['dataset'], f'{where}.dataset')
    root = dataset.get('data_root') or ''
    out = []
    for key in ('ann_file', 'bbox_file', 'headbox_file'):
        if dataset.get(key):
            path = dataset[key]
            if key == 'ann_file' and not osp.isabs(path):
                path = osp.join(root, path)
            out.append((f'{where}.{key}', path))
    img = (dataset.get('data_prefix') or {}).get('img')
    if img is not None:
        out.append((f'{where}.data_prefix.img', osp.join(root, img)))
    return out


def check_dataset_paths(cfg, splits: Iterable[str] = ('train', 'val')) -> None:
    """Raise FileNotFoundError naming every missing dataset file of ``cfg``.

    Looks at ``{split}_dataloader.dataset`` and ``{split}_evaluator.ann_file``
    for each split the run will use. Paths on remote backends (``s3://``,
    ``http://``) are not checked.
    """
    missing = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        dataset = loader.get('dataset', {})
        paths = _dataset_paths(dataset, f'{split}_dataloader.dataset')
        if dataset.get('type') not in SELF_GENERATING:
            evaluators = cfg.get(f'{split}_evaluator') or []
            if isinstance(evaluators, dict):
                evaluators = [evaluators]
            for i, ev in enumerate(evaluators):
                if ev.get('ann_file'):
                    paths.append((f'{split}_evaluator[{i}].ann_file',
                                  ev['ann_file']))
        for field, path in paths:
            if '://' not in path and not osp.exists(path):
                missing.append(f'  {field}: {path}')
    if missing:
        raise FileNotFoundError(
            'dataset files not found (paths are relative to '
            f'{osp.abspath(".")}):\n' + '\n'.join(missing) + f'\n{DOCS_HINT}')
