#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: installs the Python packages the test data
# needs (onnx for the node tests, onnxruntime for the random-weight references), fetches and
# prepares the test data into .cache/, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  echo "installing python packages: onnx==1.22.0 onnxruntime numpy"
  python3 -m pip install --quiet --disable-pip-version-check "onnx==1.22.0" onnxruntime numpy
fi
./scripts/fetch_onnx_tests.sh
if [ ! -f .cache/onnx/light-prepared/.complete ]; then
  echo "preparing light models (random weights + onnxruntime references) ..."
  python3 scripts/prepare_light_models.py .cache/onnx
  touch .cache/onnx/light-prepared/.complete
fi
cargo build --release --workspace --bins
cargo test --release --workspace "$@"
