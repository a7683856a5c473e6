#!/usr/bin/env python3
"""Generate a BERT-shaped encoder as ONNX: the transformer benchmark of `compare_ort.py`.

6 layers, hidden 384, 12 heads, FFN 1536, sequence 128, batch 1, opset 17, random weights from
a fixed seed. The graph is written the way exporters write BERT: token + position embeddings
(Gather), LayerNormalization, per-layer Q/K/V MatMul+Add, Reshape/Transpose into heads,
scaled QKᵀ with an additive attention mask, Softmax, the context MatMul, output projection,
residual Add + LayerNormalization, and the FFN with the erf form of GELU
(x·0.5·(1 + erf(x/√2))).

--decomposed-layernorm writes each LayerNorm the way exporters do before opset 17
(ReduceMean, Sub, Pow 2, ReduceMean, Add ε, Sqrt, Div, Mul γ, Add β) and sets opset 14.
--hf-attention writes K the way torch exports HF BERT's `transpose_for_scores(key).transpose(-1, -2)`:
Transpose(0, 2, 1, 3) then Transpose(0, 1, 3, 2), instead of one Transpose(0, 2, 3, 1).
Without either option the output is unchanged.

usage: make_bert_encoder.py OUT.onnx [--layers 6] [--hidden 384] [--heads 12] [--ffn 1536] [--seq 128]
                            [--decomposed-layernorm] [--hf-attention]
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(layers, hidden, heads, ffn, seq, vocab=1000, seed=0, decomposed_ln=False, hf_attention=False):
    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def w(name, *shape, scale=0.02):
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(op, ins, name, **attrs):
        nodes.append(helper.make_node(op, ins, [name], name=name, **attrs))
        return name

    def layer_norm(x, p):
        g = const(p + ".gamma", (1.0 + rng.standard_normal(hidden) * 0.02).astype(np.float32))
        b = w(p + ".beta", hidden)
        if not decomposed_ln:
            return node("LayerNormalization", [x, g, b], p + ".out", axis=-1, epsilon=1e-12)
        u = node("ReduceMean", [x], p + ".mean", axes=[-1])
        d = node("Sub", [x, u], p + ".centered")
        v = node("ReduceMean", [node("Pow", [d, ln_two], p + ".square")], p + ".var", axes=[-1])
        s = node("Sqrt", [node("Add", [v, ln_eps], p + ".var_eps")], p + ".std")
        n = node("Div", [d, s], p + ".normed")
        return node("Add", [node("Mul", [n, g], p + ".scaled"), b], p + ".out")

    def dense(x, p, n_in, n_out):
        y = node("MatMul", [x, w(p + ".weight", n_in, n_out)], p + ".matmul")
        return node("Add", [y, w(p + ".bias", n_out)], p + ".out")

    head = hidden // heads
    split_shape = const("shape.heads", np.array([1, seq, heads, head], dtype=np.int64))
    merge_shape = const("shape.merge", np.array([1, seq, hidden], dtype=np.int64))
    scale = const("attn.scale", np.array(np.sqrt(head), dtype=np.float32))
    if decomposed_ln:
        ln_two = const("ln.two", np.array(2.0, dtype=np.float32))
        ln_eps = const("ln.eps", np.array(1e-12, dtype=np.float32))
    half = const("gelu.half", np.array(0.5, dtype=np.float32))
    one = const("gelu.one", np.array(1.0, dtype=np.float32))
    sqrt2 = const("gelu.sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))

    tok = node("Gather", [w("embeddings.word", vocab, hidden), "input_ids"], "embeddings.tokens", axis=0)
    pos_ids = const("embeddings.position_ids", np.arange(seq, dtype=np.int64).reshape(1, seq))
    pos = node("Gather", [w("embeddings.position", seq, hidden), pos_ids], "embeddings.positions", axis=0)
    x = layer_norm(node("Add", [tok, pos], "embeddings.sum"), "embeddings.ln")

    # Additive mask: 0 where attention_mask is 1, -10000 where it is 0, shaped [1, 1, 1, seq].
    m = node("Unsqueeze", ["attention_mask", const("mask.axes", np.array([1, 2], dtype=np.int64))], "mask.4d")
    m = node("Cast", [m], "mask.float", to=TensorProto.FLOAT)
    m = node("Sub", [one, m], "mask.inverted")
    mask = node("Mul", [m, const("mask.neg", np.array(-10000.0, dtype=np.float32))], "mask.additive")

    for i in range(layers):
        p = f"layer{i}"

        def heads_of(t, name, perm):
            r = node("Reshape", [t, split_shape], f"{p}.{name}.split")
            return node("Transpose", [r], f"{p}.{name}.heads", perm=perm)

        q = heads_of(dense(x, p + ".q", hidden, hidden), "q", [0, 2, 1, 3])
        if hf_attention:
            k = heads_of(dense(x, p + ".k", hidden, hidden), "k", [0, 2, 1, 3])
            k = node("Transpose", [k], f"{p}.k.t", perm=[0, 1, 3, 2])
        else:
            k = heads_of(dense(x, p + ".k", hidden, hidden), "k", [0, 2, 3, 1])
        v = heads_of(dense(x, p + ".v", hidden, hidden), "v", [0, 2, 1, 3])
        s = node("MatMul", [q, k], p + ".scores")
        s = node("Div", [s, scale], p + ".scaled")
        s = node("Add", [s, mask], p + ".masked")
        a = node("Softmax", [s], p + ".probs", axis=-1)
        c = node("MatMul", [a, v], p + ".context")
        c = node("Transpose", [c], p + ".context.t", perm=[0, 2, 1, 3])
        c = node("Reshape", [c, merge_shape], p + ".context.merged")
        o = dense(c, p + ".attn_out", hidden, hidden)
        x = layer_norm(node("Add", [o, x], p + ".attn_res"), p + ".attn_ln")
        h = dense(x, p + ".ffn_in", hidden, ffn)
        e = node("Erf", [node("Div", [h, sqrt2], p + ".gelu.div")], p + ".gelu.erf")
        e = node("Add", [e, one], p + ".gelu.add")
        g = node("Mul", [node("Mul", [h, e], p + ".gelu.mul"), half], p + ".gelu.out")
        o = dense(g, p + ".ffn_out", ffn, hidden)
        x = layer_norm(node("Add", [o, x], p + ".ffn_res"), p + ".ffn_ln")

    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))
    graph = helper.make_graph(
        nodes,
        "bert_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, seq]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, seq]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, seq, hidden])],
        inits,
    )
    opset = 14 if decomposed_ln else 17
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="suanli")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=1536)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--decomposed-layernorm", action="store_true", help="pre-opset-17 LayerNorm decomposition")
    ap.add_argument("--hf-attention", action="store_true", help="K transposed by two Transposes, as torch exports HF BERT")
    a = ap.parse_args()
    model = build(
        a.layers, a.hidden, a.heads, a.ffn, a.seq, decomposed_ln=a.decomposed_layernorm, hf_attention=a.hf_attention
    )
    onnx.save(model, a.out)
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"wrote {a.out}: {a.layers} layers, hidden {a.hidden}, {a.heads} heads, FFN {a.ffn}, seq {a.seq}, {params / 1e6:.1f}M parameters")


if __name__ == "__main__":
    main()
