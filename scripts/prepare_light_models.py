#!/usr/bin/env python3
"""Prepare the `light_*` model tests (run by .ci/run after fetch_onnx_tests.sh).

The light models shipped in the onnx wheel build every weight with ConstantOfShape(0.02), so
their reference outputs prove little about numerics. For each model this script writes into
<cache>/light-prepared/:
  <name>.input_0.pb     the input the ONNX backend runner uses (arange(n)/n, float32)
  <name>.random.onnx    the model with every ConstantOfShape weight and float initializer
                        replaced by a seeded random initializer, scaled by role so that
                        activations stay finite (He-normal conv/gemm weights, BN statistics
                        near 1, small biases)
  <name>.random.output_0.pb   onnxruntime's output for the random model on the same input

Usage: prepare_light_models.py [CACHE_DIR]   (default: .cache/onnx)
"""
import os
import sys
import zlib

import numpy as np
import onnx
from onnx import numpy_helper

cache = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".cache", "onnx")
light = os.path.join(cache, "light")
out_dir = os.path.join(cache, "light-prepared")
os.makedirs(out_dir, exist_ok=True)


def standard_input(vi):
    shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim)
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


def consumers(graph):
    use = {}
    for node in graph.node:
        for i, name in enumerate(node.input):
            use.setdefault(name, []).append((node, i))
    return use


def role_values(name, shape, use, rng, gemm_trans):
    """Random values for a weight named `name`, chosen by how the graph uses it."""
    uses = use.get(name, [])
    # Follow a single Unsqueeze/Reshape to the real consumer (inception_v2 scales via Mul/Add).
    while len(uses) == 1 and uses[0][0].op_type in ("Unsqueeze", "Reshape") and uses[0][1] == 0:
        uses = use.get(uses[0][0].output[0], [])
    op, idx = (uses[0][0].op_type, uses[0][1]) if uses else ("", -1)
    size = int(np.prod(shape)) if shape else 1
    if op in ("Conv", "ConvTranspose") and idx == 1 and len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    if op in ("Gemm", "MatMul") and idx == 1 and len(shape) == 2:
        fan_in = shape[1] if gemm_trans.get(uses[0][0].name or id(uses[0][0]), False) else shape[0]
        return rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
    if op == "BatchNormalization" and idx in (1, 4):
        return rng.uniform(0.5, 1.5, shape)
    if op == "Mul":
        return rng.uniform(0.5, 1.5, shape)
    if op == "BatchNormalization" and idx in (2, 3):
        return rng.uniform(-0.1, 0.1, shape)
    del size
    return rng.uniform(-0.1, 0.1, shape)


def randomize(model, seed):
    g = model.graph
    rng = np.random.default_rng(seed)
    use = consumers(g)
    gemm_trans = {}
    for node in g.node:
        if node.op_type == "Gemm":
            tb = [a.i for a in node.attribute if a.name == "transB"]
            gemm_trans[node.name or id(node)] = bool(tb and tb[0])
    inits = {t.name: t for t in g.initializer}
    new_inits = []
    keep_nodes = []
    for node in g.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in inits:
            shape = [int(d) for d in numpy_helper.to_array(inits[node.input[0]])]
            vals = role_values(node.output[0], shape, use, rng, gemm_trans).astype(np.float32)
            new_inits.append(numpy_helper.from_array(vals, node.output[0]))
        else:
            keep_nodes.append(node)
    for t in g.initializer:
        if t.data_type == onnx.TensorProto.FLOAT:
            shape = list(t.dims)
            vals = role_values(t.name, shape, use, rng, gemm_trans).astype(np.float32)
            new_inits.append(numpy_helper.from_array(vals, t.name))
        elif any(n.input and n.input[0] == t.name and n.op_type == "ConstantOfShape" for n in g.node):
            continue  # the shape of a folded ConstantOfShape: no longer needed
        else:
            new_inits.append(t)
    del g.node[:]
    g.node.extend(keep_nodes)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    names = {t.name for t in new_inits}
    real_inputs = [i for i in g.input if i.name not in names and not i.name.endswith("__SHAPE")]
    del g.input[:]
    g.input.extend(real_inputs)
    # Initializers no longer listed as inputs need IR version >= 4.
    model.ir_version = max(model.ir_version, 4)
    return model


def shrink_classifier(model, factor):
    """Scale the weights of every Gemm (the classifier layers) by `factor`."""
    weights = {n.input[1] for n in model.graph.node if n.op_type == "Gemm"}
    for i, t in enumerate(model.graph.initializer):
        if t.name in weights:
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) * np.float32(factor), t.name))


def main():
    import onnxruntime as ort

    names = sorted(f[:-5] for f in os.listdir(light) if f.endswith(".onnx"))
    for name in names:
        model = onnx.load(os.path.join(light, name + ".onnx"))
        inits = {t.name for t in model.graph.initializer}
        data_inputs = [i for i in model.graph.input if i.name not in inits]
        x = standard_input(data_inputs[0])
        with open(os.path.join(out_dir, name + ".input_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x, data_inputs[0].name).SerializeToString())
        rand = randomize(model, zlib.crc32(name.encode()))
        path = os.path.join(out_dir, name + ".random.onnx")
        for _ in range(8):
            onnx.save(rand, path)
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            y = sess.run(None, {data_inputs[0].name: x})[0]
            # A saturated softmax (one-hot) would make the comparison weak: shrink the
            # classifier's weights until the probabilities stay spread out.
            if y.max() < 0.9 or not any(n.op_type == "Softmax" for n in rand.graph.node):
                break
            shrink_classifier(rand, 0.25)
        if not np.all(np.isfinite(y)):
            raise SystemExit(f"{name}: random weights give non-finite outputs")
        with open(os.path.join(out_dir, name + ".random.output_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(y).SerializeToString())
        print(f"{name}: input {list(x.shape)}, random-weight output {list(y.shape)} range [{y.min():.3g}, {y.max():.3g}]")


if __name__ == "__main__":
    main()
