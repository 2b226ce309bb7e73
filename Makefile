# The environment lives in .venv/ (tools/setup/setup_env.sh; idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test flops zoo speed clean

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

## speed: set up, then time every model of issue 12 in eager PyTorch, ONNX Runtime and OpenVINO (batch 1, 256x192,
## 1 thread, 3 fresh processes, 20 interleaved runs each; and batch 32 for MobilePoseNet vs LiteHRNet-18), keep the
## JSON in docs/speed/ and rewrite the generated tables of docs/speed.md
MMPOSE_TD := mmpose::body_2d_keypoint/topdown_heatmap/coco
MMPOSE_RTM := mmpose::body_2d_keypoint/rtmpose/coco
SPEED_CONFIGS := $(MMPOSE_TD)/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py \
	$(MMPOSE_TD)/td-hm_litehrnet-18_8xb64-210e_coco-256x192.py \
	$(MMPOSE_RTM)/rtmpose-t_8xb256-420e_aic-coco-256x192.py \
	$(MMPOSE_RTM)/rtmpose-s_8xb256-420e_aic-coco-256x192.py \
	configs/el_hrnet/td-hm_el-hrnet-w32_1xb16-300e_coco-256x192.py \
	configs/dite_hrnet/td-hm_dite-hrnet-18_8xb32-270e_coco-256x192.py \
	configs/edite_hrnet/td-hm_edite-hrnet-s_1xb32-270e_coco-256x192.py \
	configs/cbam_litehrnet/td-hm_cbam-litehrnet-18_8xb64-210e_coco-256x192.py \
	configs/mobileposenet/td-hm_mobileposenet_1xb32-210e_coco-256x192.py
SPEED_RUNS ?= 20
SPEED := OMP_NUM_THREADS=1 $(PY) tools/analysis_tools/benchmark_speed.py
SPEED_JSON := docs/speed/cpu_batch1_all_run1.json docs/speed/cpu_batch1_all_run2.json \
	docs/speed/cpu_batch1_all_run3.json docs/speed/cpu_batch32_all.json
speed: setup
	for run in 1 2 3; do \
		$(SPEED) $(SPEED_CONFIGS) --backend all --batch 1 --threads 1 --warmup 3 --runs $(SPEED_RUNS) \
			--json docs/speed/cpu_batch1_all_run$$run.json || exit 1; \
	done
	$(SPEED) configs/mobileposenet/td-hm_mobileposenet_1xb32-210e_coco-256x192.py --backend all --batch 32 \
		--threads 1 --layout both --allocator retain --warmup 1 --runs 5 --json docs/speed/cpu_batch32_all.json
	$(SPEED) --markdown docs/speed.md --from-json $(SPEED_JSON)

clean:
	rm -rf work_dirs
