"""Labels beside plotted points without overlaps (display coordinates).

:func:`place_labels` puts each label's box at one of several offsets around
its point, the nearest that overlaps no other label, no point and stays
inside the plot; where every offset collides it takes the one with the
least overlap. Pure geometry on pixel boxes, so the plot measures the text
and this module decides where it goes.
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

#: Directions tried around a point, nearest first: right, left, up, down,
#: then the diagonals (unit vectors, scaled by the ring's distance).
_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1),
               (-1, -1))


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in display pixels (y grows upwards)."""
    x0: float
    y0: float
    x1: float
    y1: float

    def overlap(self, other: 'Box') -> float:
        """Area shared with ``other`` (0 when they only touch)."""
        width = min(self.x1, other.x1) - max(self.x0, other.x0)
        height = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(width, 0.0) * max(height, 0.0)

    def outside(self, bounds: 'Box') -> float:
        """Area of this box that lies outside ``bounds``."""
        area = (self.x1 - self.x0) * (self.y1 - self.y0)
        return area - self.overlap(bounds)


def _start(anchor: float, size: float, direction: int, gap: float) -> float:
    """Lower edge of a label of ``size`` placed ``gap`` away from
    ``anchor`` in ``direction`` (+1 after, -1 before, 0 centred)."""
    if direction > 0:
        return anchor + gap
    if direction < 0:
        return anchor - gap - size
    return anchor - size / 2


def _candidate(x: float, y: float, width: float, height: float, dx: int,
               dy: int, gap: float) -> Box:
    """The label box ``gap`` pixels from (x, y) in direction (dx, dy)."""
    x0, y0 = _start(x, width, dx, gap), _start(y, height, dy, gap)
    return Box(x0, y0, x0 + width, y0 + height)


def place_labels(anchors: Sequence[Tuple[float, float]],
                 sizes: Sequence[Tuple[float, float]],
                 bounds: Box,
                 point_radius: float = 5.0,
                 gaps: Sequence[float] = (6, 14, 26, 42, 62)) -> List[Box]:
    """A box per label, in the order given.

    Args:
        anchors: (x, y) of each labelled point, display pixels.
        sizes: (width, height) of each label's text, display pixels.
        bounds: the plot area labels must stay in.
        point_radius: half the side of the square kept free around every
            anchor (the marker).
        gaps: distances from the anchor tried, nearest first.

    Returns:
        The chosen boxes; a label whose every candidate collides gets the
        candidate of least overlap (labels, markers, outside the bounds).
    """
    if len(anchors) != len(sizes):
        raise ValueError(f'{len(anchors)} anchors but {len(sizes)} sizes')
    markers = [
        Box(x - point_radius, y - point_radius, x + point_radius,
            y + point_radius) for x, y in anchors
    ]
    placed: List[Box] = []
    for (x, y), (width, height) in zip(anchors, sizes):
        best, best_cost = None, float('inf')
        for gap in gaps:
            for dx, dy in _DIRECTIONS:
                box = _candidate(x, y, width, height, dx, dy, gap)
                cost = (sum(box.overlap(other) for other in placed) +
                        sum(box.overlap(m) for m in markers) +
                        box.outside(bounds))
                if cost < best_cost:
                    best, best_cost = box, cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        placed.append(best)
    return placed
