#!/usr/bin/env bash
# Download the onnx==1.22.0 wheel from PyPI and extract its backend test data
# (node tests and light models) into .cache/onnx (not committed). Idempotent.
set -euo pipefail
ver=1.22.0
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${SUANLI_ONNX_CACHE:-$root/.cache/onnx}"
if [ -f "$dest/.complete-$ver" ]; then
  echo "onnx $ver test data already in $dest"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "downloading onnx==$ver wheel ..."
python3 -m pip download --quiet --no-deps --only-binary=:all: "onnx==$ver" -d "$tmp"
mkdir -p "$dest"
python3 - "$tmp" "$dest" <<'PY'
import glob, sys, zipfile, os
tmp, dest = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(tmp, "onnx-*.whl"))[0]
prefix = "onnx/backend/test/data/"
n = 0
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name.endswith("/"):
            continue
        if name.startswith(prefix + "node/") or name.startswith(prefix + "light/"):
            rel = name[len(prefix):]
            out = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                dst.write(src.read())
            n += 1
print(f"extracted {n} files into {dest}")
PY
touch "$dest/.complete-$ver"
