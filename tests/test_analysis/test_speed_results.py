"""Latency per config and runtime (``elhrnet_mm.analysis.speed_results``).
"""
import json

import pytest

from elhrnet_mm.analysis.speed_results import (UNKNOWN_RUNTIME, Latency,
                                               SpeedFileError, read_speed)


def speed_file(path, rows, batch=1, backend='onnxruntime', fastest=None):
    """A benchmark_speed.py --json file: rows of (name, ms[, runtime])."""
    results = [
        dict(name=row[0], median_ms=row[1], config=f'configs/x/{row[0]}.py',
             **({'runtime': row[2]} if len(row) > 2 else {})) for row in rows
    ]
    settings = {'batch': batch}
    if backend:
        settings['backend'] = backend
    data = {'settings': settings, 'results': results}
    if fastest is not None:
        data['fastest_layout'] = [
            dict(name=n, median_ms=ms, runtime=rt) for n, ms, rt in fastest
        ]
    path.write_text(json.dumps(data))
    return str(path)


def test_best_runtime_over_files_and_rows(tmp_path):
    pt = speed_file(tmp_path / 'pt.json', [('a', 30.0), ('b', 5.0)],
                    backend='pytorch')
    ort = speed_file(tmp_path / 'ort.json', [('a', 20.0), ('c', 9.0)])
    every = speed_file(tmp_path / 'all.json',
                       [('b', 7.0, 'openvino'), ('b', 4.0, 'onnxruntime')],
                       backend='all')
    latency = read_speed([pt, ort, every])
    assert latency['a'] == Latency({'pytorch': 30.0, 'onnxruntime': 20.0})
    assert (latency['a'].best_runtime, latency['a'].best_ms) == (
        'onnxruntime', 20.0)
    assert latency['b'].by_runtime == {
        'pytorch': 5.0, 'openvino': 7.0, 'onnxruntime': 4.0}
    assert latency['b'].best_runtime == 'onnxruntime'
    assert latency['c'].best_runtime == 'onnxruntime'


def test_fastest_layout_rows_and_the_median_over_runs(tmp_path):
    both = speed_file(tmp_path / 'both.json', [('a', 30.0), ('a', 20.0)],
                      backend='pytorch',
                      fastest=[('a', 20.0, 'pytorch')])
    run2 = speed_file(tmp_path / 'run2.json', [('a', 26.0)],
                      backend='pytorch')
    run3 = speed_file(tmp_path / 'run3.json', [('a', 21.0)],
                      backend='pytorch')
    assert read_speed([both])['a'].by_runtime == {'pytorch': 20.0}
    assert read_speed([both, run2, run3])['a'].by_runtime == {
        'pytorch': 21.0}


def test_a_file_without_runtime_is_announced(tmp_path):
    old = speed_file(tmp_path / 'old.json', [('a', 12.5)], backend=None)
    messages = []
    latency = read_speed([old], warn=messages.append)
    assert latency['a'].by_runtime == {UNKNOWN_RUNTIME: 12.5}
    (message, ) = messages
    assert 'old.json: no runtime named' in message
    every = speed_file(tmp_path / 'all.json', [('a', 3.0)], backend='all')
    assert read_speed([every], warn=messages.append)['a'].by_runtime == {
        UNKNOWN_RUNTIME: 3.0}  # 'all' is not a runtime
    assert len(messages) == 2


def test_bad_files(tmp_path):
    garbage = tmp_path / 'garbage.json'
    garbage.write_text('{')
    with pytest.raises(SpeedFileError, match='garbage.json: cannot read'):
        read_speed([str(garbage)])
    wrong = tmp_path / 'wrong.json'
    wrong.write_text(json.dumps({'results': [{'name': 'x'}]}))
    with pytest.raises(SpeedFileError,
                       match='not a benchmark_speed.py --json file'):
        read_speed([str(wrong)])
    one = speed_file(tmp_path / 'b1.json', [('a', 1.0)])
    many = speed_file(tmp_path / 'b32.json', [('a', 9.0)], batch=32)
    with pytest.raises(SpeedFileError, match='b32.json: settings.batch is 32'):
        read_speed([one, many])
