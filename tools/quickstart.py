"""``make demo``: EL-HRNet on the built-in synthetic data, end to end.

1. generate (or reuse) the synthetic COCO-format dataset;
2. evaluate an untrained model (same config, same seed, no training) with
   ``mim test`` and MMPose's ``CocoMetric``;
3. train with ``mim train elhrnet_mm CONFIG``;
4. evaluate the trained checkpoint with ``mim test``, saving MMPose's
   visualization of the predicted skeleton of every validation person;
5. run MMPose's ``MMPoseInferencer`` with the config path and the trained
   checkpoint on one person cropped from a validation image
   (``det_model='whole_image'``: no detector weights needed), writing the
   picture and the predicted keypoints;
6. print AP/AR untrained vs trained, and the params/FLOPs tables of the
   quick-start model and of the paper's EL-HRNet-W32.

    python tools/quickstart.py [--config CFG] [--work-dir DIR]
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
QUICKSTART = osp.join(
    ROOT, 'configs', 'quickstart',
    'td-hm_el-hrnet-w32-small_1xb32-8e_synthcoco-128x96.py')
PAPER = osp.join(ROOT, 'configs', 'el_hrnet',
                 'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192.py')
METRICS = ('coco/AP', 'coco/AP .5', 'coco/AP .75', 'coco/AR')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=QUICKSTART)
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    return parser.parse_args()


def step(title):
    print(f'\n==== {title} ====', flush=True)


def run(cmd):
    print('$ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def mim():
    """The ``mim`` next to this interpreter (the venv's)."""
    exe = osp.join(osp.dirname(sys.executable), 'mim')
    return exe if osp.exists(exe) else shutil.which('mim')


def save_untrained_checkpoint(config, path):
    """The model as training would start it (config seed, init_weights)."""
    import torch
    from mmengine.config import Config
    from mmengine.runner import set_random_seed
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import elhrnet_mm  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(config)
    set_random_seed(cfg.get('randomness', {}).get('seed', 0))
    model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)


def mim_test(config, ckpt, work_dir, extra=()):
    out = osp.join(work_dir, 'metrics.json')
    run([
        mim(), 'test', 'elhrnet_mm', config, '--checkpoint', ckpt,
        '--work-dir', work_dir, '--out', out, *extra
    ])
    with open(out) as f:
        return json.load(f)


def person_crop(data_root, out_path, padding=1.25):
    """Crop the largest person of the first validation image (its box
    enlarged by ``padding``, as top-down models see people) to ``out_path``.
    """
    import cv2
    with open(osp.join(data_root, 'annotations',
                       'person_keypoints_val.json')) as f:
        coco = json.load(f)
    image = coco['images'][0]
    people = [a for a in coco['annotations'] if a['image_id'] == image['id']]
    x, y, w, h = max(people, key=lambda a: a['area'])['bbox']
    img = cv2.imread(osp.join(data_root, 'images', 'val', image['file_name']))
    cx, cy, half_w, half_h = x + w / 2, y + h / 2, w * padding / 2, \
        h * padding / 2
    x0, y0 = max(int(cx - half_w), 0), max(int(cy - half_h), 0)
    x1 = min(int(cx + half_w), img.shape[1])
    y1 = min(int(cy + half_h), img.shape[0])
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    cv2.imwrite(out_path, img[y0:y1, x0:x1])
    return out_path


def inferencer_demo(config, ckpt, image, out_dir):
    """MMPose's own inferencer on ``image`` with our config and checkpoint."""
    from mmpose.apis import MMPoseInferencer
    inferencer = MMPoseInferencer(
        pose2d=config,
        pose2d_weights=ckpt,
        det_model='whole_image',
        device='cpu')
    result = next(
        inferencer(
            image,
            vis_out_dir=osp.join(out_dir, 'vis'),
            pred_out_dir=osp.join(out_dir, 'predictions')))
    person = result['predictions'][0][0]
    print(f'{len(person["keypoints"])} keypoints, mean score '
          f'{sum(person["keypoint_scores"]) / len(person["keypoints"]):.3f}; '
          f'picture and JSON under {out_dir}/')


def main():
    args = parse_args()
    work = osp.abspath(args.work_dir)
    config = osp.abspath(args.config)

    step('1/6 synthetic data')
    from elhrnet_mm.datasets import ensure_synthetic_coco
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    print('dataset:', ensure_synthetic_coco(**cfg.synthetic_data))

    step('2/6 untrained model: mim test')
    untrained_ckpt = osp.join(work, 'untrained', 'untrained.pth')
    save_untrained_checkpoint(config, untrained_ckpt)
    before = mim_test(config, untrained_ckpt, osp.join(work, 'untrained'))

    step('3/6 training: mim train')
    run([mim(), 'train', 'elhrnet_mm', config, '--work-dir', work])
    with open(osp.join(work, 'last_checkpoint')) as f:
        ckpt = f.read().strip()

    step('4/6 trained model: mim test (+ visualizations)')
    after = mim_test(
        config,
        ckpt,
        osp.join(work, 'test'),
        extra=('--show-dir', 'vis'))

    step('5/6 MMPoseInferencer on one person')
    inferencer_dir = osp.join(work, 'inferencer')
    image = person_crop(ensure_synthetic_coco(**cfg.synthetic_data),
                        osp.join(inferencer_dir, 'person.jpg'))
    inferencer_demo(config, ckpt, image, inferencer_dir)

    step('6/6 results')
    print(f'{"metric":<12} {"untrained":>10} {"trained":>10}')
    for key in METRICS:
        print(f'{key:<12} {before[key]:>10.4f} {after[key]:>10.4f}')
    print(f'checkpoint: {ckpt}')
    vis = sorted(
        osp.join(d, f) for d, _, files in os.walk(osp.join(work, 'test'))
        for f in files if f.endswith(('.jpg', '.png')) and 'vis' in d)
    print(f'{len(vis)} visualizations, e.g. {vis[0] if vis else "-"}')
    flops = osp.join(ROOT, 'tools', 'analysis_tools', 'get_flops.py')
    for path in (config, PAPER):
        run([sys.executable, flops, path])


if __name__ == '__main__':
    main()
