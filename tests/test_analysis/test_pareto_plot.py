"""The leaderboard's figure (``elhrnet_mm.analysis.pareto_plot``)."""
import itertools

import pytest

from elhrnet_mm.analysis.pareto_plot import (REFERENCE_COLOUR, PlotPoint,
                                             paper_styles, collect_points,
                                             plot_pareto)
from elhrnet_mm.analysis.published import find_rows
from elhrnet_mm.analysis.speed_results import Latency

EL_COCO = 'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192'


@pytest.fixture(scope='module')
def points():
    """The committed page's points: every shipped COCO config, crowded at
    0.2-0.6 GFLOPs, with latency for a few."""
    stems = {r['ours'] for r in find_rows(dataset='coco-val2017')
             if r.get('ours')}
    gflops = {stem: 0.2 + 0.01 * i for i, stem in enumerate(sorted(stems))}
    gflops[EL_COCO] = 2.0
    latency = {
        EL_COCO: Latency({'pytorch': 140.0, 'onnxruntime': 120.0}),
        'td-hm_dite-hrnet-18_8xb32-270e_coco-256x192':
        Latency({'pytorch': 65.0}),
    }
    notes = []
    collected = collect_points([], latency, gflops, note=notes.append)
    return collected, stems, notes


def test_one_point_per_shipped_config(points):
    collected, stems, _ = points
    papers = [p for p in collected if p.kind == 'paper']
    assert len(papers) == len(stems)
    labels = [p.label for p in collected]
    assert len(labels) == len(set(labels))  # each variant labelled once
    el = next(p for p in papers if p.label == 'el-hrnet-w32')
    assert (el.gflops, el.score) == (2.0, 67.1)
    assert el.latency.best_runtime == 'onnxruntime'
    # a variant at two input sizes names its size
    assert {'dite-hrnet-18 256x192', 'dite-hrnet-18 384x288'} <= set(labels)
    assert {'RTMPose-t', 'RTMPose-s'} <= set(labels)


def test_rtmpose_reference_points(points):
    collected, _, notes = points
    references = [p for p in collected if p.kind == 'reference']
    rows = [r for r in find_rows(dataset='coco-val2017')
            if r.get('mmpose_config') and 'AP' in r['metrics']]
    assert len(references) == len(rows)
    for point, row in zip(references, rows):
        assert point.score == row['metrics']['AP']
        if row['flops_convention'] != 'mmengine':
            assert any(row['model'] in n for n in notes)


def test_one_style_per_paper_and_grey_references():
    pts = [PlotPoint('a', 'p1', 'paper', 1, None, 60),
           PlotPoint('b', 'p2', 'paper', 1, None, 61),
           PlotPoint('c', 'ref', 'reference', 1, None, 62),
           PlotPoint('ours: a', 'p1', 'ours', 1, None, 59)]
    styles = paper_styles(pts)
    assert set(styles) == {'p1', 'p2', 'ref'}
    assert styles['p1'] != styles['p2']
    assert styles['ref'][0] == REFERENCE_COLOUR


def test_rendered_labels_do_not_overlap(points, tmp_path):
    collected, _, _ = points
    ours = PlotPoint('ours: el-hrnet-w32', 'el-hrnet-sensors2024', 'ours', 1.9,
                     Latency({'pytorch': 130.0}), 10.0)
    path = tmp_path / 'pareto.png'
    flops_boxes, latency_boxes = plot_pareto(list(collected) + [ours],
                                             str(path))
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert len(flops_boxes) == sum(p.gflops is not None
                                   for p in collected) + 1
    assert len(latency_boxes) == 3
    for boxes in (flops_boxes, latency_boxes):
        for a, b in itertools.combinations(boxes, 2):
            assert a.overlap(b) == 0, (a, b)


def test_without_latency_the_panel_says_so(tmp_path):
    pts = [PlotPoint('a', 'p1', 'paper', 1.0, None, 60.0)]
    flops_boxes, latency_boxes = plot_pareto(pts, str(tmp_path / 'x.png'))
    assert len(flops_boxes) == 1 and latency_boxes == []
