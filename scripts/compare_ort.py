#!/usr/bin/env python3
"""Run ONNX Runtime and suanli side by side on the same models, inputs and thread counts, and
print a ratio table (suanli / ONNX Runtime, lower is better for suanli).

For each thread count and model, `--rounds` A/B rounds are interleaved: each round runs ONNX
Runtime and then `suanli bench` in fresh processes (warm-up, then the median of `--iters` runs),
and the reported ratio is the median of the per-round ratios (the machines this runs on drift,
and their second core is sometimes time-sliced, so only ratios measured side by side count).
Also reported: session build time and whole-process peak RSS of each, and SGEMM GFLOP/s of
suanli (a one-MatMul model with a constant right operand) against numpy's BLAS.

usage: compare_ort.py [--threads 1,2] [--models a,b] [--rounds 3] [--iters 20] [--readme README.md]
Needs: onnx, onnxruntime, numpy; the light models in .cache/onnx (scripts/test.sh fetches
them); `cargo build --release` (uses target/release/suanli).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHT = ROOT / ".cache" / "onnx" / "light-prepared"
BENCH = ROOT / ".cache" / "bench"
SUANLI = ROOT / "target" / "release" / "suanli"
MODELS = ["squeezenet", "resnet50", "densenet121", "inception_v1", "shufflenet", "bert_encoder"]
BEGIN, END = "<!-- perf-table:begin -->", "<!-- perf-table:end -->"


def model_path(name):
    if name == "bert_encoder":
        p = BENCH / "bert_encoder.onnx"
        if not p.exists():
            BENCH.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, str(ROOT / "scripts" / "make_bert_encoder.py"), str(p)], check=True)
        return p
    if name.startswith("matmul"):
        return matmul_model(int(name[len("matmul"):]))
    p = LIGHT / f"light_{name}.random.onnx"
    if not p.exists():
        sys.exit(f"error: {p} is missing; run ./scripts/test.sh once to fetch and prepare the light models")
    return p


def matmul_model(n):
    """A model computing A·B with A an input and B a constant, both n×n."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    p = BENCH / f"matmul{n}.onnx"
    if p.exists():
        return p
    BENCH.mkdir(parents=True, exist_ok=True)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        f"matmul{n}",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
        [numpy_helper.from_array(b, "b")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, p)
    return p


def make_inputs(model, tmp):
    """Random inputs for every graph input, saved as .npy; returns {name: path}."""
    import numpy as np
    import onnx

    m = onnx.load(str(model), load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    rng = np.random.default_rng(0)
    out = {}
    for i in m.graph.input:
        if i.name in inits:
            continue
        t = i.type.tensor_type
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in t.shape.dim]
        if t.elem_type == onnx.TensorProto.INT64:
            a = np.ones(shape, np.int64) if "mask" in i.name else rng.integers(0, 1000, shape).astype(np.int64)
        else:
            a = rng.standard_normal(shape).astype(np.float32)
        path = Path(tmp) / f"{model.stem}.{len(out)}.npy"
        np.save(path, a)
        out[i.name] = str(path)
    return out


ORT_RUNNER = r"""
import json, resource, sys, time
import numpy as np, onnxruntime as ort
model, threads, warmup, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
feeds = {k: np.load(v) for k, v in json.loads(sys.argv[5]).items()}
o = ort.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1
o.log_severity_level = 3
t0 = time.perf_counter()
s = ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])
build = (time.perf_counter() - t0) * 1e3
for _ in range(warmup): s.run(None, feeds)
ts = []
for _ in range(iters):
    t = time.perf_counter(); s.run(None, feeds); ts.append((time.perf_counter() - t) * 1e3)
ts.sort()
print(json.dumps({"median_ms": ts[len(ts) // 2], "build_ms": build,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

NUMPY_RUNNER = r"""
import json, sys, time
import numpy as np
n, iters = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n)).astype(np.float32); b = rng.standard_normal((n, n)).astype(np.float32)
for _ in range(2): a @ b
ts = []
for _ in range(iters):
    t = time.perf_counter(); a @ b; ts.append((time.perf_counter() - t) * 1e3)
ts.sort()
print(json.dumps({"median_ms": ts[len(ts) // 2]}))
"""


def run_json(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed:\n{r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def thread_env(threads):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    return env


def ort_run(model, threads, inputs, warmup, iters):
    return run_json(
        [sys.executable, "-c", ORT_RUNNER, str(model), str(threads), str(warmup), str(iters), json.dumps(inputs)],
        env=thread_env(threads),
    )


def suanli_run(model, threads, inputs, warmup, iters):
    cmd = [str(SUANLI), "bench", str(model), "--threads", str(threads), "--warmup", str(warmup),
           "--iters", str(iters), "--json"]
    for k, v in inputs.items():
        cmd += ["--input", f"{k}={v}"]
    return run_json(cmd)


def numpy_run(n, threads, iters):
    return run_json([sys.executable, "-c", NUMPY_RUNNER, str(n), str(iters)], env=thread_env(threads))


def mib(b):
    return f"{b / 2**20:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--gemm", default="1024,2048", help="SGEMM sizes against numpy ('' to skip)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--readme", help="replace the table between the perf-table markers in this file")
    a = ap.parse_args()
    if not SUANLI.exists():
        sys.exit(f"error: {SUANLI} is missing; run `cargo build --release` first")
    threads = [int(t) for t in a.threads.split(",") if t]
    models = [m for m in a.models.split(",") if m]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    import onnxruntime
    import numpy

    lines = [
        f"suanli / ONNX Runtime {onnxruntime.__version__}, batch 1, {cpu}, {os.cpu_count()} cores; "
        f"median of {a.rounds} interleaved rounds of {a.iters} runs each (ratio < 1: suanli is faster).",
        "",
        "| model | threads | ORT ms | suanli ms | ratio | build ORT / suanli ms | peak RSS ORT / suanli MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for t in threads:
            for name in models:
                path = model_path(name)
                inputs = make_inputs(path, tmp)
                rounds = []
                for r in range(a.rounds):
                    o = ort_run(path, t, inputs, a.warmup, a.iters)
                    s = suanli_run(path, t, inputs, a.warmup, a.iters)
                    rounds.append((o, s))
                    print(f"  {name} t={t} round {r + 1}: ORT {o['median_ms']:.2f} ms, suanli {s['median_ms']:.2f} ms",
                          file=sys.stderr, flush=True)
                ratio = statistics.median(s["median_ms"] / o["median_ms"] for o, s in rounds)
                med = lambda side, k: statistics.median(x[side][k] for x in rounds)
                lines.append(
                    f"| {name} | {t} | {med(0, 'median_ms'):.2f} | {med(1, 'median_ms'):.2f} | **{ratio:.2f}** | "
                    f"{med(0, 'build_ms'):.0f} / {med(1, 'build_ms'):.0f} | "
                    f"{mib(med(0, 'peak_rss_bytes'))} / {mib(med(1, 'peak_rss_bytes'))} |"
                )
        sizes = [int(n) for n in a.gemm.split(",") if n]
        if sizes:
            lines += ["", f"SGEMM n×n×n, suanli (MatMul with a constant right operand) against numpy {numpy.__version__} "
                      "(its BLAS), GFLOP/s, median of interleaved rounds:", "",
                      "| n | threads | numpy GFLOP/s | suanli GFLOP/s | suanli / numpy |", "|---|---|---|---|---|"]
            for t in threads:
                for n in sizes:
                    path = model_path(f"matmul{n}")
                    inputs = make_inputs(path, tmp)
                    iters = max(5, min(a.iters, int(4e10 / (2 * n**3))))
                    rounds = []
                    for _ in range(a.rounds):
                        npm = numpy_run(n, t, iters)["median_ms"]
                        sm = suanli_run(path, t, inputs, 2, iters)["median_ms"]
                        rounds.append((npm, sm))
                        print(f"  sgemm {n} t={t}: numpy {npm:.2f} ms, suanli {sm:.2f} ms", file=sys.stderr, flush=True)
                    gf = lambda ms: 2 * n**3 / (ms * 1e-3) / 1e9
                    share = statistics.median(npm / sm for npm, sm in rounds)
                    lines.append(f"| {n} | {t} | {gf(statistics.median(r[0] for r in rounds)):.1f} | "
                                 f"{gf(statistics.median(r[1] for r in rounds)):.1f} | **{share:.2f}** |")
    table = "\n".join(lines)
    print(table)
    if a.readme:
        p = Path(a.readme)
        text = p.read_text()
        if BEGIN not in text or END not in text:
            sys.exit(f"error: {p} has no {BEGIN} ... {END} markers")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        p.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
        print(f"updated {p}", file=sys.stderr)


if __name__ == "__main__":
    main()
