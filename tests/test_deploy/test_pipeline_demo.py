"""tools/deployment/pose_demo.py (its command line,
:mod:`elhrnet_mm.cli.pose_demo`) on an image, a folder and a video, and its
errors for bad input. The model is the toy ONNX graph of pipeline_fixtures
with the tiny config's metadata (the pipeline's numbers are checked in
test_pipeline.py and test_pipeline_parity.py)."""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

from elhrnet_mm.cli import pose_demo
from pipeline_fixtures import toy_metadata, write_metadata, write_toy_model

@pytest.fixture
def model(tmp_path):
    path = write_toy_model(tmp_path / 'toy.onnx')
    write_metadata(path, toy_metadata())
    return path


@pytest.fixture
def images(tiny_coco, tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    for i in (1, 2, 3):
        shutil.copy(osp.join(tiny_coco, 'images', 'val', f'{i:08d}.jpg'),
                    folder)
    return folder


def run(*args):
    return pose_demo.main([str(a) for a in args])


def test_image_with_boxes(model, images, tmp_path, capsys):
    image = images / '00000001.jpg'
    height, width = cv2.imread(str(image)).shape[:2]
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps({'00000001.jpg': [[10, 10, 90, 150],
                                                  [50, 20, 120, 200, 0.8]]}))
    out = tmp_path / 'out'
    assert run(image, '--model', model, '--boxes', boxes, '--out-dir', out,
               '--json', tmp_path / 'kpts.json') == 0
    result = json.loads((tmp_path / 'kpts.json').read_text())
    assert result['keypoint_names'][0] == 'nose'
    frame, = result['frames']
    assert frame['frame'] == '00000001.jpg'
    assert len(frame['people']) == 2
    assert frame['people'][1]['bbox'] == [50, 20, 120, 200]
    assert np.array(frame['people'][0]['keypoints']).shape == (17, 2)
    assert len(frame['people'][0]['keypoint_scores']) == 17
    drawn = cv2.imread(str(out / '00000001.jpg'))
    raw = cv2.imread(str(image))
    assert drawn.shape == (height, width, 3)
    # the FPS text in the top-left corner, the skeleton and boxes elsewhere
    assert np.abs(drawn[5:30, 5:100].astype(int) - raw[5:30, 5:100]).max() \
        > 100
    assert (np.abs(drawn.astype(int) - raw).sum(axis=2) > 60).sum() > 200
    assert '1 frame(s), 2 person(s)' in capsys.readouterr().out


def test_folder_whole_frames_with_progress_bar(model, images, tmp_path,
                                               capsys):
    out = tmp_path / 'out'
    assert run(images, '--model', model, '--out-dir', out, '--json',
               tmp_path / 'kpts.json', '--flip-test') == 0
    result = json.loads((tmp_path / 'kpts.json').read_text())
    assert result['flip_test'] is True
    assert [f['frame'] for f in result['frames']] == [
        '00000001.jpg', '00000002.jpg', '00000003.jpg']
    for frame in result['frames']:
        person, = frame['people']  # the whole frame
        assert person['bbox'][:2] == [0, 0]
    assert sorted(os.listdir(out)) == ['00000001.jpg', '00000002.jpg',
                                       '00000003.jpg']
    err = capsys.readouterr().err
    assert '3/3' in err and 'frame/s' in err  # tqdm


def test_video(model, images, tmp_path):
    video = str(tmp_path / 'clip.mp4')
    frames = [cv2.imread(str(images / f)) for f in sorted(os.listdir(images))]
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 10.,
                             (width, height))
    for frame in frames * 2:
        writer.write(frame)
    writer.release()
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps({'0': [[0, 0, 60, 80]], '4': [],
                                 '5': [[10, 10, 50, 50], [5, 5, 5, 30]]}))
    out = tmp_path / 'out'
    with pytest.warns(UserWarning, match='zero area; skipped'):
        assert run(video, '--model', model, '--boxes', boxes, '--out-dir',
                   out, '--json', tmp_path / 'kpts.json') == 0
    result = json.loads((tmp_path / 'kpts.json').read_text())
    assert [f['frame'] for f in result['frames']] == [str(i)
                                                      for i in range(6)]
    assert [len(f['people']) for f in result['frames']] == [1, 0, 0, 0, 0, 1]
    assert os.listdir(out) == ['clip.mp4']  # no partial file left
    capture = cv2.VideoCapture(str(out / 'clip.mp4'))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 6


# ------------------------------------------------------------- bad input


def test_model_without_metadata(tmp_path, images, capsys):
    bare = write_toy_model(tmp_path / 'bare.onnx')
    assert run(images, '--model', bare) == 2
    assert 'metadata file not found' in capsys.readouterr().err


def test_metadata_disagreeing_with_the_model(tmp_path, images, capsys):
    path = write_toy_model(tmp_path / 'big.onnx', height=96, width=64)
    write_metadata(path, toy_metadata())
    assert run(images, '--model', path) == 2
    err = capsys.readouterr().err
    assert "'input_size'" in err and 'big.pose.json' in err


@pytest.mark.parametrize('content, message', [
    ('', 'is empty'),
    ('{"a.jpg": [[0, 0, 10', 'not valid JSON'),
    ('[[0, 0, 10, 10]]', 'expected a non-empty JSON object'),
    ('{"a.jpg": [[0, 0, 10]]}', "key 'a.jpg' must hold a list of"),
    ('{"a.jpg": [[0, 0, 10, "9"]]}', "key 'a.jpg' must hold a list of"),
])
def test_bad_box_files(model, images, tmp_path, capsys, content, message):
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(content)
    assert run(images, '--model', model, '--boxes', boxes) == 2
    err = capsys.readouterr().err
    assert message in err and str(boxes) in err


def test_box_outside_the_image(model, images, tmp_path, capsys):
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps({'00000002.jpg': [[1000, 10, 1100, 50]]}))
    assert run(images, '--model', model, '--boxes', boxes, '--json',
               tmp_path / 'k.json') == 2
    err = capsys.readouterr().err
    assert str(boxes) in err and "'00000002.jpg'" in err
    assert 'lies outside the image' in err
    assert not (tmp_path / 'k.json').exists()  # nothing half-written


def test_unreadable_inputs(model, tmp_path, capsys):
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not a jpeg')
    assert run(broken, '--model', model) == 2
    assert f'cannot read image {broken}' in capsys.readouterr().err
    video = tmp_path / 'broken.mp4'
    video.write_bytes(b'not a video')
    assert run(video, '--model', model) == 2
    assert str(video) in capsys.readouterr().err
    assert run(tmp_path / 'missing.png', '--model', model) == 2
    assert 'input not found' in capsys.readouterr().err
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert run(empty, '--model', model) == 2
    assert 'has no image file' in capsys.readouterr().err


def test_detector_without_weights_says_what_it_needs(model, images,
                                                     tmp_path):
    with pytest.raises(SystemExit, match='detector weights not found'):
        run(images, '--model', model, '--det-config', 'rtmdet.py',
            '--det-checkpoint', tmp_path / 'missing.pth')
    with pytest.raises(SystemExit):
        run(images, '--model', model, '--det-config', 'rtmdet.py')
