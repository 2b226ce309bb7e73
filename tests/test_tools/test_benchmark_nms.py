"""tools/analysis_tools/benchmark_nms.py on small sizes and tiny_coco."""
import json
import os.path as osp

import pytest

from elhrnet_mm.cli import benchmark_nms


@pytest.fixture(scope='module')
def tool():
    """The command line the script runs (tools/ only calls ``main``)."""
    return benchmark_nms


def test_speed_and_ap_on_synthetic_results(tool, tiny_coco, capsys):
    ann = osp.join(tiny_coco, 'annotations/person_keypoints_val.json')
    out = tool.main(['--sizes', '10', '40', '--repeats', '1', '--ann-file',
                     ann, '--synthetic', '--json'])
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(out))
    methods = {'oks_nms', 'soft_oks_nms', 'parallel_oks (numpy)',
               'parallel_oks (torch)'}
    for n in (10, 40):
        rows = [r for r in out['speed'] if r['candidates'] == n]
        assert {r['method'] for r in rows} == methods
        assert all(r['seconds'] > 0 for r in rows)
    ap = {r['method']: r for r in out['ap']}
    assert set(ap) == {'none', 'oks_nms', 'soft_oks_nms', 'parallel_oks'}
    for row in ap.values():
        assert 0 <= row['AP'] <= 1
    # the lower-scored duplicates are decayed below the other people
    assert ap['parallel_oks']['AP'] > ap['none']['AP']


def test_results_file_matches_synthetic(tool, tiny_coco, tmp_path):
    ann = osp.join(tiny_coco, 'annotations/person_keypoints_val.json')
    results = tool.synthetic_results(ann, duplicates=1)
    no_bbox = [{k: v for k, v in r.items() if k != 'bbox'} for r in results]
    path = tmp_path / 'res.json'
    path.write_text(json.dumps(no_bbox))
    out = tool.main(['--sizes', '--ann-file', ann, '--results', str(path)])
    assert out['speed'] == []
    kept = {r['method']: r['poses_kept'] for r in out['ap']}
    assert kept['none'] == len(results)
    assert kept['oks_nms'] <= len(results)


def test_candidates_and_bad_arguments(tool):
    db = tool.candidates(25)
    assert len(db) == 25 and db[0]['keypoints'].shape == (17, 3)
    for argv in (['--repeats', '0'], ['--synthetic'],
                 ['--ann-file', 'missing.json', '--synthetic']):
        with pytest.raises(SystemExit):
            tool.parse_args(argv)
