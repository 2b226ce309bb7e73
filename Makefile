# The environment lives in .venv/ (tools/setup/setup_env.sh; idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test flops zoo clean

setup:
	bash tools/setup/setup_env.sh

## demo: set up, then train EL-HRNet on the built-in synthetic data and evaluate
demo: setup
	$(PY) tools/quickstart.py

## test: set up, then run the whole test suite
test: setup
	$(PY) -m pytest -q -p no:cacheprovider tests

## flops: params/FLOPs of EL-HRNet-W32 beside the paper's
flops: setup
	$(PY) tools/analysis_tools/get_flops.py configs/el_hrnet/td-hm_el-hrnet-w32_1xb16-300e_coco-256x192.py

## zoo: set up, then measure every shipped config and rewrite docs/model_zoo.md's table and the metafiles' FLOPs/Parameters
zoo: setup
	$(PY) tools/analysis_tools/model_zoo.py

clean:
	rm -rf work_dirs
