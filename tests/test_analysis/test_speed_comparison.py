"""elhrnet_mm.analysis.speed_comparison: baselines, ratio arithmetic,
markdown tables (no timing: the rows are made up)."""
import pytest

from elhrnet_mm.analysis.speed_comparison import (BEGIN_MARK, END_MARK,
                                                  HRNET_W32, LITEHRNET_18,
                                                  RTMPOSE_T, add_ratios,
                                                  baseline_of, compare,
                                                  fastest_layouts,
                                                  markdown_tables,
                                                  published_ap,
                                                  replace_marked_section)

EL = 'configs/el_hrnet/td-hm_el-hrnet-w32_1xb16-300e_coco-256x192.py'
DITE = 'configs/dite_hrnet/td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py'


def test_family_baselines():
    assert baseline_of('ELHRNet') == HRNET_W32
    assert baseline_of('HRNet') == HRNET_W32
    for backbone in ('DiteHRNet', 'EDiteHRNet', 'CBAMLiteHRNet',
                     'MobilePoseNetEncoder', 'LiteHRNet', 'CSPNeXt'):
        assert baseline_of(backbone) == LITEHRNET_18, backbone
    assert baseline_of('ResNet') == HRNET_W32  # the default


def _row(config, runtime, layout, ms):
    return dict(config=config, name=config.split('/')[-1][:-3],
                runtime=runtime, layout=layout, input_shape=[1, 3, 256, 192],
                median_ms=ms, min_ms=ms * 0.9, max_ms=ms * 1.2)


def _rows():
    # Dite: 30 ms eager NCHW, 28 channels_last, 12 ORT, 15 OpenVINO;
    # LiteHRNet-18: 20 / 25 / 10 / 8
    return [
        _row(DITE, 'pytorch', 'nchw', 30.0),
        _row(DITE, 'pytorch', 'channels_last', 28.0),
        _row(DITE, 'onnxruntime', 'nchw', 12.0),
        _row(DITE, 'openvino', 'nchw', 15.0),
        _row(LITEHRNET_18, 'pytorch', 'nchw', 20.0),
        _row(LITEHRNET_18, 'pytorch', 'channels_last', 25.0),
        _row(LITEHRNET_18, 'onnxruntime', 'nchw', 10.0),
        _row(LITEHRNET_18, 'openvino', 'nchw', 8.0),
    ]


BASELINES = {DITE: LITEHRNET_18, LITEHRNET_18: LITEHRNET_18}


def test_ratios_same_runtime_and_layout():
    rows = add_ratios(_rows(), BASELINES, batch=2)
    by = {(r['config'], r['runtime'], r['layout']): r for r in rows}
    cl = by[(DITE, 'pytorch', 'channels_last')]
    assert cl['latency_ratio'] == pytest.approx(28 / 25)
    assert cl['speedup'] == pytest.approx(25 / 28)
    assert cl['images_per_s'] == pytest.approx(2000 / 28)
    assert by[(DITE, 'openvino', 'nchw')]['latency_ratio'] == \
        pytest.approx(15 / 8)
    assert by[(LITEHRNET_18, 'onnxruntime', 'nchw')]['latency_ratio'] == 1
    assert all(r['baseline'] == LITEHRNET_18 for r in rows)


def test_fastest_layout_and_comparison():
    rows = add_ratios(_rows(), BASELINES, batch=1)
    fastest = fastest_layouts(rows, BASELINES, batch=1)
    assert len(fastest) == 6  # (2 configs) x (3 runtimes)
    eager = {r['config']: r for r in fastest if r['runtime'] == 'pytorch'}
    assert eager[DITE]['layout'] == 'channels_last'
    assert eager[LITEHRNET_18]['layout'] == 'nchw'
    # fastest against fastest: 28 / 20
    assert eager[DITE]['latency_ratio'] == pytest.approx(28 / 20)
    macs = {DITE: 250e6, LITEHRNET_18: 200e6}
    published = {DITE: dict(AP=70.0, source='x', reference=False),
                 LITEHRNET_18: None}
    comparison = compare(fastest, BASELINES, macs, published)
    dite, lite = comparison
    assert dite['config'] == DITE and lite['config'] == LITEHRNET_18
    assert dite['runtimes'] == dict(pytorch=28.0, onnxruntime=12.0,
                                    openvino=15.0)
    assert dite['best_runtime'] == 'onnxruntime'
    assert lite['best_runtime'] == 'openvino'
    assert dite['baseline_best_runtime'] == 'openvino'
    assert dite['ratio_same_runtime'] == pytest.approx(
        dict(pytorch=28 / 20, onnxruntime=12 / 10, openvino=15 / 8))
    assert dite['best_vs_best'] == pytest.approx(12 / 8)
    # promised: 200 / 250 = 0.8x the baseline's speed; realized 8 / 12
    assert dite['mac_speedup'] == pytest.approx(0.8)
    assert dite['speedup'] == pytest.approx(8 / 12)
    assert dite['realized_over_promised'] == pytest.approx((8 / 12) / 0.8)
    assert lite['best_vs_best'] == 1 and lite['realized_over_promised'] == 1
    assert dite['published']['AP'] == 70.0 and not dite['reference']


def _report(scale):
    rows = add_ratios([dict(r, median_ms=r['median_ms'] * (
        scale if r['config'] == DITE else 1)) for r in _rows()], BASELINES, 1)
    fastest = fastest_layouts(rows, BASELINES, 1)
    return dict(
        machine=dict(cpu='CPU', cores=2, platform='linux', python='3',
                     torch='2', onnxruntime='1', openvino='2026'),
        settings=dict(batch=1, threads=1, device='cpu', backend='all',
                      runtimes=['pytorch', 'onnxruntime', 'openvino'],
                      precision='f32', fuse=True,
                      layouts=['nchw', 'channels_last'], allocator='system',
                      warmup=1, runs=20),
        results=rows,
        comparison=compare(fastest, BASELINES,
                           {DITE: 250e6, LITEHRNET_18: 200e6},
                           {DITE: None, LITEHRNET_18: None}))


def test_markdown_tables_of_several_runs():
    text = markdown_tables([_report(1.0), _report(2.0)], ['a.json', 'b.json'])
    assert '### Batch 1, 1 thread(s), f32, 2 run(s)' in text
    dite = next(line for line in text.splitlines()
                if line.startswith('| td-hm_dite'))
    cells = [c.strip() for c in dite.strip('|').split('|')]
    # median over the runs: eager (28 + 56) / 2 = 42; per-run best vs best
    assert cells[2:5] == ['42.0', '18.0', '22.5']
    assert cells[5] == 'ONNX Runtime'
    assert cells[8] == '1.50 / 3.00'
    assert '`a.json`, `b.json`' in text


def test_markdown_needs_comparison():
    with pytest.raises(ValueError, match='x.json: no "comparison"'):
        markdown_tables([dict(settings={})], ['x.json'])


def test_replace_marked_section():
    content = f'head\n{BEGIN_MARK}\nold\n{END_MARK}\ntail\n'
    new = replace_marked_section(content, 'NEW', 'speed.md')
    assert new == f'head\n{BEGIN_MARK}\n\nNEW\n{END_MARK}\ntail\n'
    with pytest.raises(ValueError, match='speed.md: no section'):
        replace_marked_section('no marks', 'NEW', 'speed.md')


def test_published_ap():
    rtm = published_ap(RTMPOSE_T, (256, 192))
    assert rtm['AP'] == 68.5 and rtm['reference']
    assert rtm['source'].startswith('rtmpose-mmpose')
    el = published_ap(EL, (256, 192))
    assert el['AP'] == 67.1 and not el['reference']
    assert published_ap(EL, (384, 288)) is None
