#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: installs the Python packages the test data
# needs (onnx for the node tests, onnxruntime for the random-weight references), fetches and
# prepares the test data into .cache/, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The wgpu device is tested for real on Mesa's lavapipe (a Vulkan driver on the CPU) when no
# GPU driver is present. Installing needs root; without it the wgpu tests print SKIPPED.
if ! ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing mesa-vulkan-drivers (lavapipe) for the wgpu tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers >/dev/null
  else
    echo "note: no Vulkan driver found and cannot install mesa-vulkan-drivers: wgpu tests will be SKIPPED"
  fi
fi
# Mesa's window-system probes complain without a runtime dir; compute needs none.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

if ! python3 -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  echo "installing python packages: onnx==1.22.0 onnxruntime numpy"
  python3 -m pip install --quiet --disable-pip-version-check "onnx==1.22.0" onnxruntime numpy
fi
# NVRTC from PyPI: the CUDA device's test compiles every CUDA source with it (no GPU needed).
if ! python3 -c "import nvidia.cuda_nvrtc" 2>/dev/null; then
  echo "installing python package: nvidia-cuda-nvrtc-cu12 (NVRTC, for the CUDA compile test)"
  python3 -m pip install --quiet --disable-pip-version-check nvidia-cuda-nvrtc-cu12 \
    || echo "note: could not install nvidia-cuda-nvrtc-cu12: the NVRTC test will be SKIPPED"
fi
NVRTC_DIR="$(python3 -c 'import nvidia.cuda_nvrtc, os; print(os.path.join(list(nvidia.cuda_nvrtc.__path__)[0], "lib"))' 2>/dev/null || true)"
if [ -n "$NVRTC_DIR" ]; then
  export SUANLI_CUDA_LIB_DIR="${SUANLI_CUDA_LIB_DIR:+$SUANLI_CUDA_LIB_DIR:}$NVRTC_DIR"
fi
./scripts/fetch_onnx_tests.sh
if [ ! -f .cache/onnx/light-prepared/.complete ]; then
  echo "preparing light models (random weights + onnxruntime references) ..."
  python3 scripts/prepare_light_models.py .cache/onnx
  touch .cache/onnx/light-prepared/.complete
fi
if [ ! -f .cache/bench/bert_encoder.onnx ]; then
  echo "generating the BERT-shaped encoder (random fixed-seed weights) ..."
  mkdir -p .cache/bench
  python3 scripts/make_bert_encoder.py .cache/bench/bert_encoder.onnx
fi
cargo build --release --workspace --bins
cargo test --release --workspace "$@"
