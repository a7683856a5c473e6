#!/usr/bin/env python3
"""Build the small CNN embedded in the `suanli demo` command (runtime/assets/demo.onnx).

Conv-Relu-MaxPool-Conv-Relu-GlobalAveragePool-Flatten-Gemm-Softmax on a 1x3x32x32 image,
with fixed-seed random weights. Re-run only to change the demo model.
"""
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

rng = np.random.default_rng(2024)


def init(name, shape, scale):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


inits = [
    init("conv1.w", (8, 3, 3, 3), 0.3), init("conv1.b", (8,), 0.1),
    init("conv2.w", (16, 8, 3, 3), 0.15), init("conv2.b", (16,), 0.1),
    init("fc.w", (10, 16), 0.3), init("fc.b", (10,), 0.1),
]
nodes = [
    helper.make_node("Conv", ["image", "conv1.w", "conv1.b"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
    helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], name="pool1"),
    helper.make_node("Conv", ["p1", "conv2.w", "conv2.b"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
    helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
    helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
    helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
    helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1, name="fc"),
    helper.make_node("Softmax", ["logits"], ["probs"], axis=1, name="softmax"),
]
graph = helper.make_graph(
    nodes, "suanli_demo",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 32, 32])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 10])],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="suanli")
model.ir_version = 8
onnx.checker.check_model(model)
out = sys.argv[1] if len(sys.argv) > 1 else "runtime/assets/demo.onnx"
onnx.save(model, out)
print(f"wrote {out}")
