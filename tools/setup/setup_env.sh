#!/usr/bin/env bash
# Create or update .venv with the known-good CPU stack and elhrnet_mm.
# Idempotent: a second run finds the stamp and returns at once; after a change
# to this script, the constraints or pyproject.toml it re-runs pip, which
# reuses what is installed and the wheel cache (mmcv's compiled wheel).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
C="-c requirements/constraints.txt"
stamp_src=$(cat tools/setup/setup_env.sh tools/setup/torchvision_cpu_shim.py \
  requirements/constraints.txt pyproject.toml | sha1sum | cut -c1-12)
stamp="$VENV/.elhrnet_mm_setup_$stamp_src"
if [ -f "$stamp" ] && "$VENV/bin/python" -c "import elhrnet_mm" 2>/dev/null; then
  echo "[setup] $VENV is up to date"
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
echo "[setup] torch (CPU) and build tools"
$PIP install -q $C torch==2.13.0
$PIP install -q $C "numpy>=2,<2.4" "setuptools<81" wheel cython ninja psutil
echo "[setup] torchvision (+ CPU import shim)"
$PIP install -q $C --no-deps torchvision==0.28.0
site=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
cp tools/setup/torchvision_cpu_shim.py "$site/_elhrnet_mm_torchvision_cpu_shim.py"
echo "import _elhrnet_mm_torchvision_cpu_shim" > "$site/_elhrnet_mm_torchvision_cpu_shim.pth"
echo "[setup] mmengine, mmcv (compiled once, then cached as a wheel), mmdet"
$PIP install -q $C mmengine==0.10.7
MAX_JOBS=${MAX_JOBS:-2} $PIP install -q $C --no-build-isolation mmcv==2.1.0
$PIP install -q $C mmdet==3.3.0
echo "[setup] xtcocotools built against this numpy"
if ! "$VENV/bin/python" -c "import xtcocotools.coco" 2>/dev/null; then
  $PIP install -q $C --force-reinstall --no-deps --no-build-isolation \
    --no-binary xtcocotools xtcocotools==1.14.3
fi
echo "[setup] mmpose (without chumpy) and its runtime dependencies"
$PIP install -q $C --no-deps mmpose==1.3.2
$PIP install -q $C json_tricks munkres six scipy matplotlib pillow opencv-python \
  pycocotools requests
$PIP install -q $C --no-deps openmim==0.3.9
$PIP install -q $C click colorama model-index pandas rich tabulate
echo "[setup] test tools and the deploy extra (ONNX export, ONNX Runtime, OpenVINO)"
$PIP install -q $C pytest onnx onnxruntime openvino
echo "[setup] elhrnet_mm (editable)"
$PIP install -q $C --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c "import torchvision, mmcv.ops, mmpose.apis, xtcocotools.coco, elhrnet_mm, onnx, onnxruntime, openvino"
rm -f "$VENV"/.elhrnet_mm_setup_*
touch "$stamp"
echo "[setup] done: $VENV"
