"""OpenVINO IR export, compilation settings and errors
(elhrnet_mm.deploy.openvino_runtime). Parity with PyTorch for every network
family is checked beside ONNX Runtime in test_onnx_export.py."""
import functools
import os
import sys

import numpy as np
import pytest
import torch

from elhrnet_mm.deploy.onnx_export import (MissingDeployExtraError,
                                           export_onnx, max_abs_difference,
                                           verify_tolerance)
from elhrnet_mm.deploy.openvino_runtime import (OpenVINOSettingError,
                                                compile_model, cpu_config,
                                                export_openvino, ir_paths,
                                                openvino_runner,
                                                output_names_of, run_request)

ov = pytest.importorskip('openvino')
pytest.importorskip('onnx')


@pytest.fixture(scope='module')
def onnx_file(tmp_path_factory):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1),
                                torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 4, 1)).eval()
    path = str(tmp_path_factory.mktemp('ov') / 'small.onnx')
    export_onnx(model, path, (2, 3, 16, 12), dynamic_batch=True)
    return model, path


def test_ir_is_written_float32_and_matches_pytorch(onnx_file, tmp_path):
    model, path = onnx_file
    xml, bin_path = export_openvino(path, str(tmp_path / 'small.xml'))
    assert sorted(os.listdir(tmp_path)) == ['small.bin', 'small.xml']
    # float32 weights: 3*8*9 + 8 + 8*4 + 4 parameters, 4 bytes each
    assert os.path.getsize(bin_path) == 4 * (3 * 8 * 9 + 8 + 8 * 4 + 4)
    compiled = compile_model(xml)
    assert output_names_of(compiled) == ['heatmaps']
    run = functools.partial(run_request, compiled.create_infer_request())
    for batch in (2, 5):  # the batch axis stays dynamic
        inputs = dict(x=torch.randn(batch, 3, 16, 12))
        diff, scale = max_abs_difference(model, run, inputs)['x']
        assert diff < verify_tolerance(scale)
    runner = openvino_runner(compiled, np.zeros((2, 3, 16, 12), np.float32))
    runner()  # a forward pass on a request of its own


def test_ir_is_written_atomically(onnx_file, tmp_path, monkeypatch):
    """A conversion that fails half-way leaves the previous IR as it was
    and no temporary files."""
    _, path = onnx_file
    xml, bin_path = ir_paths(str(tmp_path / 'm.xml'))
    for name in (xml, bin_path):
        with open(name, 'w') as f:
            f.write('previous')

    def broken_save(model, target, compress_to_fp16):
        with open(ir_paths(target)[1], 'wb') as f:
            f.write(b'partial')
        raise RuntimeError('disk full')

    monkeypatch.setattr(ov, 'save_model', broken_save)
    with pytest.raises(RuntimeError, match='disk full'):
        export_openvino(path, xml)
    assert sorted(os.listdir(tmp_path)) == ['m.bin', 'm.xml']
    for name in (xml, bin_path):
        assert open(name).read() == 'previous'


def test_compiled_settings_are_explicit_and_checked(onnx_file):
    _, path = onnx_file
    compiled = compile_model(path, threads=2)
    assert compiled.get_property('INFERENCE_PRECISION_HINT') == ov.Type.f32
    assert compiled.get_property('INFERENCE_NUM_THREADS') == 2
    assert str(compiled.get_property('PERFORMANCE_HINT')).endswith('LATENCY')
    assert cpu_config(3, perf_count=True) == {
        'INFERENCE_PRECISION_HINT': 'f32', 'INFERENCE_NUM_THREADS': 3,
        'PERFORMANCE_HINT': 'LATENCY', 'PERF_COUNT': 'YES'}


def test_bf16_only_where_the_cpu_has_it(onnx_file):
    _, path = onnx_file
    capabilities = ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
    if 'BF16' in capabilities:
        compiled = compile_model(path, precision='bf16')
        assert compiled.get_property(
            'INFERENCE_PRECISION_HINT') == ov.Type.bf16
    else:
        with pytest.raises(OpenVINOSettingError, match='allowed here: f32'):
            compile_model(path, precision='bf16')


@pytest.mark.parametrize('kwargs,message', [
    (dict(precision='fp16'), "precision 'fp16' is not supported; allowed: "
     'f32, bf16'),
    (dict(threads=0), 'threads must be a positive integer, got 0'),
    (dict(threads=-1), 'threads must be a positive integer, got -1'),
])
def test_bad_settings(onnx_file, kwargs, message):
    with pytest.raises(ValueError, match=message):
        compile_model(onnx_file[1], **kwargs)


def test_bad_paths(onnx_file, tmp_path):
    with pytest.raises(ValueError, match='named by its .xml file'):
        export_openvino(onnx_file[1], str(tmp_path / 'm.bin'))
    with pytest.raises(FileNotFoundError, match='ONNX file not found'):
        export_openvino(str(tmp_path / 'none.onnx'), str(tmp_path / 'm.xml'))
    with pytest.raises(FileNotFoundError, match='directory does not exist'):
        export_openvino(onnx_file[1], str(tmp_path / 'no' / 'm.xml'))
    with pytest.raises(FileNotFoundError, match='model file not found'):
        compile_model(str(tmp_path / 'none.xml'))


def test_missing_package_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, 'openvino', None)
    with pytest.raises(MissingDeployExtraError,
                       match=r"'openvino'.*elhrnet_mm\[deploy\]"):
        compile_model(str(tmp_path / 'm.xml'))
    with pytest.raises(MissingDeployExtraError, match='openvino'):
        export_openvino(str(tmp_path / 'm.onnx'), str(tmp_path / 'm.xml'))
