"""Accuracy against cost: the leaderboard's figure.

Two panels for one dataset: the main metric against GFLOPs (log axis,
mmengine's count for every point, so the points compare) and against our
measured latency in each config's best runtime. Each paper has one colour
and marker; the papers' numbers are filled markers, ours (results of this
package) hollow ones of the paper the config implements, reference models
(rows with an ``mmpose_config``, e.g. RTMPose) grey. Every point is
labelled once, placed by :func:`~.label_placement.place_labels` so that no
two labels overlap. The dashed line is the Pareto front.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .eval_results import MeasuredResult
from .label_placement import Box, place_labels
from .paper_match import row_gflops
from .published import config_stem, find_rows
from .speed_results import Latency

#: The metric a dataset's models are ranked and plotted by.
MAIN_METRIC = {
    'coco-val2017': 'AP',
    'crowdpose-test': 'AP',
    'mpii-val': 'Mean'
}
#: (colour, marker) per paper, in the order papers appear.
STYLES = (('tab:blue', 'o'), ('tab:orange', 's'), ('tab:green', '^'),
          ('tab:red', 'D'), ('tab:purple', 'v'), ('tab:brown', 'P'),
          ('tab:pink', 'X'), ('tab:olive', 'h'), ('tab:cyan', '<'))
REFERENCE_COLOUR = 'dimgrey'
REFERENCE_MARKERS = ('*', 'p', 'H', '8')
#: Short names of runtimes in the latency panel's labels.
RUNTIME_ABBREVIATIONS = {
    'pytorch': 'PyTorch',
    'onnxruntime': 'ORT',
    'openvino': 'OpenVINO'
}
DPI = 110


@dataclass(frozen=True)
class PlotPoint:
    """One point of the figure.

    Attributes:
        label: the model variant: the model part of our config's name
            (:func:`config_variant`, with the input size where the variant
            ships at several), or a reference row's model.
        paper: key of the paper whose colour and marker it takes.
        kind: ``'paper'`` (a published number), ``'ours'`` (a result of
            this package) or ``'reference'``.
        gflops: mmengine GFLOPs; None where not known (left out of the
            FLOPs panel).
        latency: our measured latency of the config, or None.
        score: the dataset's main metric, percent.
    """
    label: str
    paper: str
    kind: str
    gflops: Optional[float]
    latency: Optional[Latency]
    score: float


def config_variant(stem: str) -> str:
    """The model part of a config name: ``'td-hm_dite-hrnet-18_8xb32-270e_
    coco-256x192'`` -> ``'dite-hrnet-18'`` (MMPose's naming)."""
    parts = stem.split('_')
    return parts[1] if len(parts) > 2 else stem


def _input(stem: str) -> str:
    return stem.rsplit('-', 1)[-1]


def collect_points(results: Sequence[MeasuredResult],
                   latency: Dict[str, Latency],
                   config_gflops: Dict[str, float],
                   dataset: str = 'coco-val2017',
                   note=print) -> List[PlotPoint]:
    """The figure's points for ``dataset``.

    * One filled point per shipped config with a published row of the
      dataset's main metric (the first such row): the paper's score at
      our mmengine GFLOPs of that config (``config_gflops``, by config
      stem) and our latency.
    * One grey point per reference row (a row with ``mmpose_config``):
      its published FLOPs when they are an mmengine count, and our latency
      of that MMPose config where measured.
    * One hollow point per result: our score at our count and latency.

    ``note`` is called with a message for every row left out and why.
    """
    metric = MAIN_METRIC[dataset]
    rows = [r for r in find_rows(dataset=dataset) if metric in r['metrics']]
    first: Dict[str, dict] = {}
    for row in rows:
        if row.get('ours'):
            first.setdefault(row['ours'], row)
    references = [r for r in rows if r.get('mmpose_config')]
    variants: Dict[str, List[str]] = {}
    for stem in first:
        variants.setdefault(config_variant(stem), []).append(stem)

    def label(stem: str) -> str:
        variant = config_variant(stem)
        return (f'{variant} {_input(stem)}'
                if len(variants[variant]) > 1 else variant)

    points = []
    for stem, row in first.items():
        points.append(
            PlotPoint(label=label(stem),
                      paper=row['paper'],
                      kind='paper',
                      gflops=config_gflops.get(stem),
                      latency=latency.get(stem),
                      score=row['metrics'][metric]))
        if stem not in config_gflops:
            note(f'{stem}: no FLOPs count (run `make zoo`); left out of the '
                 'FLOPs panel')
    for row in references:
        gflops = None
        if row['flops'] is not None and row['flops_convention'] == 'mmengine':
            gflops = row_gflops(row)
        else:
            note(f'{row["model"]}: its published FLOPs are not an mmengine '
                 'count; left out of the FLOPs panel')
        points.append(
            PlotPoint(label=row['model'],
                      paper=row['paper'],
                      kind='reference',
                      gflops=gflops,
                      latency=latency.get(config_stem(row['mmpose_config'])),
                      score=row['metrics'][metric]))
    for measured in results:
        result = measured.result
        if result.dataset != dataset or metric not in result.metrics:
            continue
        row = first.get(result.name)
        points.append(
            PlotPoint(label=('ours: ' + (label(result.name)
                                         if row else result.name)),
                      paper=row['paper'] if row else 'ours',
                      kind='ours',
                      gflops=measured.report.flops.mmengine / 1e9,
                      latency=latency.get(result.name),
                      score=result.metrics[metric]))
    return points


def _frontier(points: Sequence[Tuple[float, float]]) -> List[tuple]:
    """Points no other point beats on both cost (lower) and score."""
    best, out = float('-inf'), []
    for cost, score in sorted(points, key=lambda p: (p[0], -p[1])):
        if score > best:
            out.append((cost, score))
            best = score
    return out


def paper_styles(points: Sequence[PlotPoint]) -> Dict[str, Tuple[str, str]]:
    styles: Dict[str, Tuple[str, str]] = {}
    references = 0
    for point in points:
        if point.paper in styles:
            continue
        if point.kind == 'reference':
            styles[point.paper] = (REFERENCE_COLOUR, REFERENCE_MARKERS[
                references % len(REFERENCE_MARKERS)])
            references += 1
        else:
            styles[point.paper] = STYLES[(len(styles) - references) %
                                         len(STYLES)]
    return styles


def _label_points(ax, fig, xy: Sequence[Tuple[float, float]],
                  labels: Sequence[str]) -> List[Box]:
    """Annotate each point once, without overlaps; returns the boxes."""
    renderer = fig.canvas.get_renderer()
    sizes = []
    for label in labels:
        text = ax.text(0, 0, label, fontsize=7)
        extent = text.get_window_extent(renderer)
        sizes.append((extent.width, extent.height))
        text.remove()
    anchors = [tuple(ax.transData.transform(p)) for p in xy]
    bbox = ax.bbox
    boxes = place_labels(anchors, sizes,
                         Box(bbox.x0, bbox.y0, bbox.x1, bbox.y1))
    to_points = 72 / fig.dpi
    for (x, y), anchor, label, box in zip(xy, anchors, labels, boxes):
        centre = ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
        far = (abs(centre[0] - anchor[0]) - (box.x1 - box.x0) / 2 > 10
               or abs(centre[1] - anchor[1]) - (box.y1 - box.y0) / 2 > 10)
        ax.annotate(label, (x, y),
                    xytext=((box.x0 - anchor[0]) * to_points,
                            (box.y0 - anchor[1]) * to_points),
                    textcoords='offset points',
                    ha='left',
                    va='bottom',
                    fontsize=7,
                    arrowprops=(dict(arrowstyle='-', color='0.6', lw=0.6)
                                if far else None))
    return boxes


#: A panel's point: (x, the point, its label).
_Entry = Tuple[float, PlotPoint, str]


def _panel(ax, entries: Sequence[_Entry], styles, xlabel: str, title: str,
           metric: str, empty: str) -> None:
    """Markers and Pareto front of one panel (no labels yet)."""
    for x, point, _ in entries:
        colour, marker = styles[point.paper]
        hollow = point.kind == 'ours'
        ax.scatter([x], [point.score],
                   marker=marker,
                   s=80 if hollow else 50,
                   facecolors='none' if hollow else colour,
                   edgecolors=colour,
                   linewidths=1.8 if hollow else 0.8,
                   zorder=3)
    ax.set(xlabel=xlabel, ylabel=f'{metric} (%)', title=title)
    if not entries:
        ax.text(0.5, 0.5, empty, ha='center', transform=ax.transAxes)
        return
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    ax.set_xscale('log')
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f'{v:g}'))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, which='both', alpha=0.25)
    front = _frontier([(x, p.score) for x, p, _ in entries])
    ax.plot(*zip(*front), '--', color='grey', lw=1, zorder=1)
    ax.margins(x=0.25, y=0.12)


def _runtime_name(latency: Latency) -> str:
    return RUNTIME_ABBREVIATIONS.get(latency.best_runtime,
                                     latency.best_runtime)


def plot_pareto(points: Sequence[PlotPoint],
                path: str,
                dataset: str = 'coco-val2017',
                paper_names: Optional[Dict[str, str]] = None
                ) -> List[List[Box]]:
    """Write the PNG; returns each panel's label boxes (display pixels).

    Args:
        points: from :func:`collect_points`.
        path: the PNG to write (its folder is created).
        dataset: the dataset the points are of (titles).
        paper_names: legend text per paper key (default: the key).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    metric = MAIN_METRIC[dataset]
    styles = paper_styles(points)
    by_flops = [(p.gflops, p, p.label) for p in points
                if p.gflops is not None]
    by_latency = [(p.latency.best_ms, p,
                   f'{p.label} · {_runtime_name(p.latency)}')
                  for p in points if p.latency is not None]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6.4), dpi=DPI)
    _panel(left, by_flops, styles,
           'GFLOPs of the config, our mmengine count (log)',
           f'{dataset}: {metric} against FLOPs', metric, 'no FLOPs known')
    _panel(right, by_latency, styles,
           'our measured latency in the best runtime (ms, log)',
           f'{dataset}: {metric} against measured latency', metric,
           'no latency measured (give --speed)')
    names = paper_names or {}
    handles = [
        Line2D([], [], marker=marker, color=colour, linestyle='',
               markersize=7, label=names.get(paper, paper))
        for paper, (colour, marker) in styles.items() if paper != 'ours'
    ]
    handles += [
        Line2D([], [], marker='o', color='black', linestyle='',
               label="filled: the paper's number"),
        Line2D([], [], marker='o', markerfacecolor='none',
               markeredgecolor='black', linestyle='',
               label='hollow: ours (this package)'),
        Line2D([], [], color='grey', linestyle='--', label='Pareto front'),
    ]
    fig.legend(handles=handles, loc='lower center', ncol=5, fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.canvas.draw()  # final axes positions, before placing the labels
    boxes = [
        _label_points(ax, fig, [(x, p.score) for x, p, _ in entries],
                      [label for _, _, label in entries])
        for ax, entries in ((left, by_flops), (right, by_latency))
    ]
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return boxes
