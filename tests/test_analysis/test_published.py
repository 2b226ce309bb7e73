"""The published-numbers data file and its query API."""
import re

import pytest
import yaml

from elhrnet_mm.analysis.published import (DATA_FILE, PublishedDataError,
                                          config_stem, find_rows,
                                          load_published)

EL = 'el-hrnet-sensors2024'
COCO_CONFIG = 'td-hm_el-hrnet-w32_1xb16-300e_coco-256x192'
MPII_CONFIG = 'td-hm_el-hrnet-w32_1xb8-210e_mpii-256x256'


def test_file_loads_and_every_entry_validates():
    data = load_published()
    assert set(data) >= {'papers', 'datasets', 'flops_conventions', 'rows'}
    for paper in data['papers'].values():
        assert paper['title'] and paper['authors'] and paper['year']
        assert paper.get('doi') or paper.get('url')
    required = {'model', 'paper', 'table', 'dataset', 'input_size', 'params',
                'flops', 'flops_convention', 'metrics'}
    for row in data['rows']:
        assert required <= set(row)


@pytest.mark.parametrize('table, dataset, count', [
    ('Table 2', 'coco-val2017', 10),
    ('Table 3', 'coco-test-dev', 7),
    ('Table 4', 'mpii-val', 8),
])
def test_all_el_hrnet_rows_entered(table, dataset, count):
    rows = [r for r in find_rows(paper=EL) if r['table'] == table]
    assert len(rows) == count
    assert {r['dataset'] for r in rows} == {dataset}


def test_printed_text_matches_values():
    for row in load_published()['rows']:
        for field, unit in (('params', 'M'),
                            ('flops', row['flops_unit'])):
            text = row.get(f'{field}_text')
            if text is None:
                continue
            number, printed_unit = re.fullmatch(r'([\d.]+)\s*([MG]?)',
                                                text).groups()
            assert float(number) == row[field], (row['model'], field)
            assert printed_unit in ('', unit), (row['model'], field)


def test_hourglass_flops_kept_as_printed():
    (row, ) = find_rows(model='Stacked Hourglass', paper=EL)
    assert (row['flops'], row['flops_unit'], row['flops_text']) == (19.1, 'M',
                                                                    '19.1 M')
    assert 'GFLOPs' in row['note']


def test_every_row_carries_its_flops_unit():
    rows = load_published()['rows']
    assert {r['flops_unit'] for r in rows} == {'G', 'M'}
    (hrnet, ) = find_rows(paper='hrnet-cvpr2019', model='HRNet-W32',
                          input_size=(256, 192))
    assert 'flops_unit' not in [
        k for k in yaml.safe_load(DATA_FILE.read_text())['rows'][
            load_published()['rows'].index(hrnet)]
    ]  # left out in the file ...
    assert hrnet['flops_unit'] == 'G'  # ... G when read


def test_find_rows_by_config_name():
    rows = find_rows(config_name=f'configs/el_hrnet/{COCO_CONFIG}.py')
    assert [(r['table'], r['params'], r['flops']) for r in rows] == [
        ('Table 2', 5.0, 2.0), ('Table 3', 5.0, 2.0)
    ]
    assert rows[0]['metrics']['AP'] == 67.1
    (mpii, ) = find_rows(config_name=MPII_CONFIG)
    assert (mpii['flops'], mpii['metrics']['Mean']) == (2.66, 87.7)
    assert find_rows(config_name=COCO_CONFIG, input_size=(384, 288)) == []


def test_find_rows_by_a_variant_config():
    text_lpb = 'td-hm_mobileposenet-textlpb_1xb32-210e_coco-256x192'
    rows = find_rows(config_name=text_lpb, dataset='coco-val2017')
    assert rows and all(text_lpb in r['variants'] for r in rows)
    assert [r['ours'] for r in rows] == [
        'td-hm_mobileposenet_1xb32-210e_coco-256x192'
    ] * len(rows)


def test_find_rows_filters():
    lite18 = find_rows(model='lite-hrnet-18', paper=EL)
    assert [r['table'] for r in lite18] == ['Table 2', 'Table 3', 'Table 4']
    assert all(r['flops_convention'] == 'torchstat-binary' for r in lite18)
    (hrnet, ) = find_rows(
        model='HRNet-W32', paper='hrnet-cvpr2019', input_size=[256, 256])
    assert (hrnet['flops'], hrnet['table']) == (9.5, 'Table 4')
    assert len(find_rows(dataset='mpii-val', model='SimpleBaseline',
                         paper=EL)) == 2
    assert config_stem('a/b/c.py') == config_stem('c') == 'c'


def test_results_are_copies():
    find_rows(paper=EL)[0]['params'] = -1
    load_published()['rows'].clear()
    assert find_rows(paper=EL)[0]['params'] == 9.6


def _write(tmp_path, mutate):
    data = yaml.safe_load(DATA_FILE.read_text())
    mutate(data)
    path = tmp_path / 'numbers.yaml'
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize('mutate, message', [
    (lambda d: d['rows'][0].pop('flops'),
     r"rows\[0\] \(SimpleBaseline, el-hrnet-sensors2024 Table 2\): "
     r"field 'flops': missing"),
    (lambda d: d['rows'][3].update(dataset='coco-val'),
     r"rows\[3\] .*field 'dataset': 'coco-val' is not a key"),
    (lambda d: d['rows'][1]['metrics'].update(PCKh=1.0),
     r"rows\[1\] .*field 'metrics': 'PCKh' is not a metric"),
    (lambda d: d['rows'][2].update(input_size=[256]),
     r"rows\[2\] .*field 'input_size'"),
    (lambda d: d['rows'][2].update(flop=1.0),
     r"rows\[2\] .*field 'flop': unknown field"),
    (lambda d: d['rows'][2].update(params='9.6 M'),
     r"rows\[2\] .*field 'params': expected a number"),
    (lambda d: d['rows'][2].update(flops_unit='T'),
     r"rows\[2\] .*field 'flops_unit': expected one of \('G', 'M'\)"),
    (lambda d: d['rows'][2].update(variants=[]),
     r"rows\[2\] .*field 'variants': expected a non-empty list"),
    (lambda d: d['rows'][2].update(mmpose_config=''),
     r"rows\[2\] .*field 'mmpose_config': expected a non-empty string"),
    (lambda d: d['papers'][EL].pop('year'),
     r"papers\.el-hrnet-sensors2024: field 'year'"),
])
def test_validation_names_entry_and_field(tmp_path, mutate, message):
    path = _write(tmp_path, mutate)
    with pytest.raises(PublishedDataError, match=message):
        load_published(path)
