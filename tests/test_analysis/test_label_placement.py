"""Non-overlapping labels (``elhrnet_mm.analysis.label_placement``)."""
import itertools

import pytest

from elhrnet_mm.analysis.label_placement import Box, place_labels

BOUNDS = Box(0, 0, 600, 400)


def _no_overlaps(boxes):
    return all(a.overlap(b) == 0 for a, b in itertools.combinations(boxes, 2))


def test_box_geometry():
    a, b = Box(0, 0, 10, 10), Box(5, 5, 20, 20)
    assert a.overlap(b) == b.overlap(a) == 25
    assert a.overlap(Box(10, 0, 20, 10)) == 0  # touching is not overlapping
    assert Box(-5, 0, 5, 10).outside(Box(0, 0, 100, 100)) == 50


def test_a_lone_label_sits_right_of_its_point():
    (box, ) = place_labels([(100, 100)], [(40, 10)], BOUNDS)
    assert box == Box(106, 95, 146, 105)


def test_crowded_points_get_disjoint_labels_clear_of_every_marker():
    # seven points within 12 px of each other, as the papers' 0.2-GFLOPs
    # variants crowd on a log axis, plus two neighbours
    anchors = [(300 + 2 * i, 200 + 2 * (i % 3)) for i in range(7)]
    anchors += [(320, 200), (280, 230)]
    sizes = [(70, 10)] * len(anchors)
    boxes = place_labels(anchors, sizes, BOUNDS, point_radius=5)
    assert _no_overlaps(boxes)
    for box in boxes:
        assert box.outside(BOUNDS) == 0
        for x, y in anchors:
            assert box.overlap(Box(x - 5, y - 5, x + 5, y + 5)) == 0
    assert [(b.x1 - b.x0, b.y1 - b.y0) for b in boxes] == sizes


def test_labels_stay_inside_near_the_edge():
    (box, ) = place_labels([(595, 395)], [(50, 10)], BOUNDS)
    assert box.outside(BOUNDS) == 0 and box.x1 <= 595


def test_impossible_layout_takes_the_least_overlap():
    # more labels than fit in a tiny plot: still one box each, in bounds
    boxes = place_labels([(10, 10)] * 3, [(8, 8)] * 3, Box(0, 0, 20, 20),
                         point_radius=1, gaps=(1, ))
    assert len(boxes) == 3


def test_mismatched_lengths():
    with pytest.raises(ValueError, match='2 anchors but 1 sizes'):
        place_labels([(0, 0), (1, 1)], [(1, 1)], BOUNDS)
