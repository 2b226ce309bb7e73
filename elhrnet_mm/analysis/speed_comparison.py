"""Speed across runtimes: each model against its baseline, and what its
MACs promise.

The arithmetic behind ``tools/analysis_tools/benchmark_speed.py`` (no timing
here): timed rows, one per (config, runtime, memory layout), become

* ratios to the model's **baseline** in the same runtime and layout
  (:func:`add_ratios`), and per (config, runtime) the fastest layout
  (:func:`fastest_layouts`);
* one **comparison** per config (:func:`compare`): its median per runtime,
  its best runtime, the ratio to the baseline in every runtime, best against
  the baseline's best, and **realized / promised** = (baseline ms / model ms)
  / (baseline MACs / model MACs), both ms in their best runtimes: 1 when the
  model is as much faster as its convolution and linear MACs say, below 1
  when per-call cost eats the saving;
* markdown tables over the JSON reports of several runs
  (:func:`markdown_tables`), to replace a marked section of a file
  (:func:`replace_marked_section`).

Baselines (issue 12): MMPose's HRNet-W32 for EL-HRNet (and HRNet), MMPose's
LiteHRNet-18 for the Lite-HRNet family, MobilePoseNet and RTMPose
(:data:`FAMILY_BASELINES`, by backbone type); other backbones get
:data:`DEFAULT_BASELINE`.
"""
import os.path as osp
import statistics
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .hrnet_reference import HRNET_W32_CONFIG
from .published import find_rows

Row = Dict[str, Any]

#: The runtimes a comparison covers, in table order.
RUNTIMES = ('pytorch', 'onnxruntime', 'openvino')
#: How tables name the runtimes.
RUNTIME_TITLES = {
    'pytorch': 'eager PyTorch',
    'onnxruntime': 'ONNX Runtime',
    'openvino': 'OpenVINO'
}
HRNET_W32 = f'mmpose::{HRNET_W32_CONFIG}'
LITEHRNET_18 = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
                'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')
RTMPOSE_T = ('mmpose::body_2d_keypoint/rtmpose/coco/'
             'rtmpose-t_8xb256-420e_aic-coco-256x192.py')
RTMPOSE_S = ('mmpose::body_2d_keypoint/rtmpose/coco/'
             'rtmpose-s_8xb256-420e_aic-coco-256x192.py')
#: Baseline config of each backbone type: the network the paper builds on
#: (RTMPose, a reference, is set beside the lightweight baseline).
FAMILY_BASELINES = {
    'HRNet': HRNET_W32,
    'ELHRNet': HRNET_W32,
    'LiteHRNet': LITEHRNET_18,
    'CBAMLiteHRNet': LITEHRNET_18,
    'DiteHRNet': LITEHRNET_18,
    'EDiteHRNet': LITEHRNET_18,
    'MobilePoseNetEncoder': LITEHRNET_18,
    'CSPNeXt': LITEHRNET_18,
}
#: Baseline of a backbone type not in :data:`FAMILY_BASELINES`.
DEFAULT_BASELINE = HRNET_W32
#: Published-numbers dataset whose AP the tables print.
AP_DATASET = 'coco-val2017'
#: Marks around the section :func:`replace_marked_section` rewrites.
BEGIN_MARK = '<!-- benchmark_speed tables: begin (generated, do not edit) -->'
END_MARK = '<!-- benchmark_speed tables: end -->'


def baseline_of(backbone_type: str) -> str:
    """The baseline config of a backbone type."""
    return FAMILY_BASELINES.get(backbone_type, DEFAULT_BASELINE)


def _mmpose_relative(config: str) -> Optional[str]:
    prefix = 'mmpose::'
    return config[len(prefix):] if config.startswith(prefix) else None


def published_ap(config: str, input_hw: Sequence[int]) -> Optional[Row]:
    """The published COCO val2017 AP of a config at ``input_hw`` (H, W):
    the row naming it as ``ours`` or as its ``mmpose_config``, first in
    file order. ``{'AP', 'source', 'reference'}`` (``reference``: an MMPose
    model's row, not one of our papers'), or None."""
    relative = _mmpose_relative(config)
    rows = find_rows(dataset=AP_DATASET, input_size=input_hw)
    for row in rows:
        ours = relative is None and row.get('ours') == osp.basename(
            config)[:-len('.py')]
        theirs = relative is not None and row.get('mmpose_config') == relative
        if (ours or theirs) and 'AP' in row['metrics']:
            return dict(AP=float(row['metrics']['AP']),
                        source=f"{row['paper']} {row['table']}",
                        reference=theirs)
    return None


def _ratios(row: Row, base_ms: float, batch: int) -> Row:
    row.update(
        images_per_s=batch * 1000.0 / row['median_ms'],
        latency_ratio=row['median_ms'] / base_ms,
        speedup=base_ms / row['median_ms'])
    return row


def _row_of(rows: Sequence[Row], config: str, runtime: str,
            layout: Optional[str] = None) -> Row:
    for row in rows:
        if row['config'] == config and row['runtime'] == runtime and (
                layout is None or row['layout'] == layout):
            return row
    raise KeyError(f'no row of {config} in {runtime}'
                   + (f' ({layout})' if layout else ''))


def add_ratios(rows: List[Row], baselines: Dict[str, str],
               batch: int) -> List[Row]:
    """Give every row ``baseline``, ``images_per_s``, ``latency_ratio`` and
    ``speedup`` against its baseline's row of the same runtime and layout
    (in place; returns ``rows``)."""
    for row in rows:
        base = _row_of(rows, baselines[row['config']], row['runtime'],
                       row['layout'])
        row['baseline'] = baselines[row['config']]
        _ratios(row, base['median_ms'], batch)
    return rows


def fastest_layouts(rows: Sequence[Row], baselines: Dict[str, str],
                    batch: int) -> List[Row]:
    """Per (config, runtime), its row of the fastest layout (median), the
    ratios recomputed against the baseline's fastest in that runtime."""
    fastest: Dict[Tuple[str, str], Row] = {}
    for row in rows:
        key = (row['config'], row['runtime'])
        if key not in fastest or row['median_ms'] < fastest[key]['median_ms']:
            fastest[key] = row
    out = []
    for (config, runtime), row in fastest.items():
        base = fastest[(baselines[config], runtime)]
        copy = {k: row[k] for k in ('config', 'name', 'runtime', 'layout',
                                    'input_shape', 'median_ms', 'min_ms',
                                    'max_ms', 'baseline')}
        out.append(_ratios(copy, base['median_ms'], batch))
    return out


def compare(fastest: Sequence[Row], baselines: Dict[str, str],
            conv_macs: Dict[str, int],
            published: Dict[str, Optional[Row]]) -> List[Row]:
    """One row per config (in first-seen order) from :func:`fastest_layouts`
    rows.

    Keys: ``config``, ``name``, ``baseline``, ``runtimes`` (runtime ->
    median ms), ``best_runtime``, ``best_ms``, ``ratio_same_runtime``
    (runtime -> model ms / baseline ms), ``best_vs_best`` (best ms /
    baseline's best ms), ``conv_macs``, ``mac_speedup`` (baseline MACs /
    model MACs: the promise), ``speedup`` (baseline's best ms / best ms: the
    realization), ``realized_over_promised``, ``published`` (see
    :func:`published_ap`) and ``reference`` (an MMPose reference model,
    such as RTMPose, not a paper of this package).
    """
    configs = list(dict.fromkeys(r['config'] for r in fastest))
    by_config = {c: {r['runtime']: r for r in fastest if r['config'] == c}
                 for c in configs}
    out = []
    for config in configs:
        own, base = by_config[config], by_config[baselines[config]]
        runtimes = {rt: own[rt]['median_ms'] for rt in RUNTIMES if rt in own}
        best = min(runtimes, key=runtimes.get)
        base_best = min(base, key=lambda rt: base[rt]['median_ms'])
        best_vs_best = runtimes[best] / base[base_best]['median_ms']
        mac_speedup = conv_macs[baselines[config]] / conv_macs[config]
        pub = published.get(config)
        out.append(dict(
            config=config,
            name=own[best]['name'],
            baseline=baselines[config],
            runtimes=runtimes,
            best_runtime=best,
            best_ms=runtimes[best],
            baseline_best_runtime=base_best,
            ratio_same_runtime={rt: runtimes[rt] / base[rt]['median_ms']
                                for rt in runtimes},
            best_vs_best=best_vs_best,
            conv_macs=conv_macs[config],
            mac_speedup=mac_speedup,
            speedup=1 / best_vs_best,
            realized_over_promised=(1 / best_vs_best) / mac_speedup,
            published=pub,
            reference=bool(pub and pub['reference'])))
    return out


# ------------------------------------------------------------ markdown ----
def _group_key(report: Row) -> Tuple:
    s = report['settings']
    return (s['batch'], s['threads'], s.get('precision', 'f32'),
            tuple(s.get('runtimes', (s['backend'], ))))


def _fmt(value: float, digits: int = 1) -> str:
    return f'{value:.{digits}f}'


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _short(config: str) -> str:
    return osp.basename(config)[:-len('.py')] if config.endswith(
        '.py') else config


def _group_tables(reports: Sequence[Row], paths: Sequence[str]) -> List[str]:
    first = reports[0]
    s, m = first['settings'], first['machine']
    runtimes = [rt for rt in RUNTIMES if rt in s.get('runtimes', ())]
    runs = len(reports)
    lines = [
        f"### Batch {s['batch']}, {s['threads']} thread(s), "
        f"{s.get('precision', 'f32')}, {runs} run(s)", '',
        f"{m['cpu']}, {m['cores']} cores, {m['platform']}; python "
        f"{m['python']}, torch {m['torch']}, onnxruntime "
        f"{m.get('onnxruntime')}, openvino {m.get('openvino')}. Each run: "
        f"one fresh process, every (model, runtime) pair round robin, "
        f"{s['warmup']} warm-up + {s['runs']} timed repetitions, fused: "
        f"{s['fuse']}; PyTorch layouts: {', '.join(s['layouts'])}. "
        'Milliseconds: the median over runs of each run\'s median. Ratios '
        'are per run (run 1 / run 2 / ...), each within one interleaved run. '
        'Files: ' + ', '.join(f'`{p}`' for p in paths) + '.', ''
    ]
    table = [c['config'] for c in first['comparison']]
    rows_by_run = [{c['config']: c for c in r['comparison']}
                   for r in reports]
    head = (['model', 'conv GMACs'] +
            [f'{RUNTIME_TITLES[rt]} ms' for rt in runtimes] +
            ['best', 'baseline', 'x baseline, same runtime (' +
             ' / '.join(RUNTIME_TITLES[rt] for rt in runtimes) + ')',
             'best vs baseline best (per run)',
             'realized / promised (per run)', 'published COCO AP',
             'images/s, best runtime'])
    lines += ['| ' + ' | '.join(head) + ' |',
              '|' + '|'.join(['---'] + ['---:'] * (len(head) - 1)) + '|']
    for config in table:
        cells = [by[config] for by in rows_by_run if config in by]
        c = cells[0]
        ms = {rt: _median([x['runtimes'][rt] for x in cells])
              for rt in runtimes}
        best = min(ms, key=ms.get)
        same = ' / '.join(
            _fmt(_median([x['ratio_same_runtime'][rt] for x in cells]), 2)
            for rt in runtimes)
        pub = c['published']
        ap = '-' if pub is None else (
            f"{pub['AP']:.1f} ({pub['source']}"
            f"{', reference*' if pub['reference'] else ''})")
        lines.append('| ' + ' | '.join(
            [f"{c['name']}", _fmt(c['conv_macs'] / 1e9, 3)] +
            [_fmt(ms[rt]) for rt in runtimes] +
            [RUNTIME_TITLES[best], _short(c['baseline']), same,
             ' / '.join(_fmt(x['best_vs_best'], 2) for x in cells),
             ' / '.join(_fmt(x['realized_over_promised'], 2)
                        for x in cells), ap,
             _fmt(s['batch'] * 1000 / ms[best])]) + ' |')
    lines += [
        '', '`best vs baseline best` < 1: faster than the baseline in its '
        'best runtime. `realized / promised` = (baseline ms / model ms) / '
        '(baseline conv MACs / model conv MACs), both in their best '
        'runtimes. *Reference rows (RTMPose): MMPose\'s models, AP from '
        'MMPose\'s RTMPose README, trained on AIC + COCO (the README: not '
        'suitable for academic comparison); the other APs are the papers\' '
        '(COCO train2017 only); none of them is our measurement.', ''
    ]
    return lines


def markdown_tables(reports: Sequence[Row],
                    paths: Sequence[str]) -> str:
    """Markdown tables of benchmark reports (the tool's JSON dicts with a
    ``comparison``), one table per group of runs with the same batch,
    threads, precision and runtimes, in first-seen order."""
    groups: Dict[Tuple, List[int]] = {}
    for index, report in enumerate(reports):
        if 'comparison' not in report:
            raise ValueError(f'{paths[index]}: no "comparison" section (not '
                             'a benchmark_speed.py --json file of this '
                             'version)')
        groups.setdefault(_group_key(report), []).append(index)
    lines: List[str] = []
    for indices in groups.values():
        lines += _group_tables([reports[i] for i in indices],
                               [paths[i] for i in indices])
    return '\n'.join(lines).rstrip() + '\n'


def replace_marked_section(content: str, text: str, where: str) -> str:
    """``content`` with what lies between :data:`BEGIN_MARK` and
    :data:`END_MARK` replaced by ``text``.

    Raises:
        ValueError: a mark is missing or out of order (``where`` names the
            file).
    """
    begin, end = content.find(BEGIN_MARK), content.find(END_MARK)
    if begin < 0 or end < begin:
        missing = BEGIN_MARK if begin < 0 else END_MARK
        raise ValueError(f'{where}: no section to rewrite: the line '
                         f'{missing!r} is missing (or the marks are out of '
                         'order)')
    return (content[:begin + len(BEGIN_MARK)] + '\n\n' + text + '\n' +
            content[end:])
