//! Epilogue fusion: a Conv, MatMul or Gemm followed by what its GEMM write-back can apply —
//! a bias Add (MatMul with a constant 2-D right operand), a residual Add of the output's shape
//! (Conv), and an activation — becomes one `FusedConv` / `FusedMatMul` / `FusedGemm` node.
//! Absorbed values must have no other reader; the fused node takes the place of the last
//! absorbed node (a residual may be computed after the Conv).

use super::{const_input, kernel_op, use_counts};
use crate::graph::{Graph, Node, NodeOp, ValueId};
use std::collections::HashMap;
use suanli_kernels::ops::conv::ConvOp;
use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp, VariadicOp};
use suanli_kernels::ops::fused::{Activation, FusedOp};
use suanli_kernels::ops::linalg::LinalgOp;
use suanli_kernels::{DType, KernelSpec, Op, TensorType};

/// Fuse epilogues; `accept` says whether every device runs the fused spec. Returns how many
/// nodes were absorbed.
pub fn fuse_epilogues(g: &mut Graph, accept: &dyn Fn(&KernelSpec) -> bool) -> usize {
    let uses = use_counts(g);
    let mut consumer: HashMap<ValueId, usize> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        for v in n.inputs.iter().flatten() {
            consumer.insert(*v, i);
        }
    }
    let mut remove = vec![false; g.nodes.len()];
    // Nodes already part of a fusion (the last one stays, replaced by the fused node).
    let mut claimed = vec![false; g.nodes.len()];
    let mut replace: HashMap<usize, Node> = HashMap::new();
    let mut absorbed = 0;
    for i in 0..g.nodes.len() {
        if claimed[i] {
            continue;
        }
        let Some((base, mut inputs)) = linear(g, i) else {
            continue;
        };
        let Some(mut out) = g.nodes[i].outputs.first().copied().flatten() else {
            continue;
        };
        let Some(out_ty) = f32_type(g, out) else { continue };
        let mut taken = vec![];
        // The single reader of `out`, if nothing else reads it.
        let next = |out: ValueId| {
            (uses[out.0] == 1)
                .then(|| consumer.get(&out).copied())
                .flatten()
                .filter(|&j| !claimed[j])
        };
        let mut fused = match &base {
            Op::Conv(ConvOp::Conv { window, group }) => FusedOp::Conv {
                window: window.clone(),
                group: *group,
                act: Activation::None,
                residual: false,
            },
            Op::Linalg(LinalgOp::MatMul) => FusedOp::MatMul { act: Activation::None },
            Op::Linalg(LinalgOp::Gemm(args)) => FusedOp::Gemm {
                args: *args,
                act: Activation::None,
            },
            _ => continue,
        };
        // Bias (MatMul) or residual (Conv) Add.
        if let Some(j) = next(out) {
            if let Some(other) = add_operand(g, j, out) {
                let n = out_ty.shape.as_ref().and_then(|s| s.last()).and_then(|d| d.known());
                let took = match &mut fused {
                    FusedOp::MatMul { .. } if is_bias(g, other, n) => {
                        inputs.push(Some(other));
                        true
                    }
                    FusedOp::Conv { residual, .. } if f32_type(g, other).as_ref() == Some(&out_ty) => {
                        inputs.resize(3, None);
                        inputs.push(Some(other));
                        *residual = true;
                        true
                    }
                    _ => false,
                };
                if took {
                    taken.push(j);
                    out = g.nodes[j].outputs[0].unwrap_or(out);
                }
            }
        }
        if let Some(j) = next(out) {
            if let Some(a) = activation(g, j) {
                match &mut fused {
                    FusedOp::Conv { act, .. } | FusedOp::MatMul { act } | FusedOp::Gemm { act, .. } => *act = a,
                    FusedOp::Elementwise(_) => {}
                }
                taken.push(j);
                out = g.nodes[j].outputs[0].unwrap_or(out);
            }
        }
        let Some(&last) = taken.last() else { continue };
        let op = Op::Fused(fused);
        let spec = KernelSpec {
            op: op.clone(),
            inputs: inputs
                .iter()
                .map(|v| v.and_then(|v| g.values[v.0].ty.tensor().cloned()))
                .collect(),
            outputs: vec![out_ty.clone()],
        };
        if !accept(&spec) {
            continue;
        }
        let node = Node {
            name: g.nodes[i].name.clone(),
            op: NodeOp::Kernel(op),
            formal_inputs: inputs.len(),
            inputs,
            outputs: vec![Some(out)],
        };
        remove[i] = true;
        claimed[i] = true;
        for &t in &taken {
            claimed[t] = true;
            remove[t] = t != last;
        }
        absorbed += taken.len();
        replace.insert(last, node);
    }
    super::splice(g, &remove, replace);
    absorbed
}

/// The f32 tensor type of `v` with a fully known shape.
fn f32_type(g: &Graph, v: ValueId) -> Option<TensorType> {
    let t = g.values[v.0].ty.tensor()?;
    (t.dtype == DType::F32 && t.concrete().is_some()).then(|| t.clone())
}

/// A fusable linear node: its op and inputs (MatMul only with a constant 2-D right operand).
fn linear(g: &Graph, i: usize) -> Option<(Op, Vec<Option<ValueId>>)> {
    let op = kernel_op(g, i)?;
    let n = &g.nodes[i];
    let x = (*n.inputs.first()?)?;
    f32_type(g, x)?;
    if n.outputs.len() != 1 {
        return None;
    }
    match op {
        Op::Conv(ConvOp::Conv { .. }) | Op::Linalg(LinalgOp::Gemm(_)) => Some((op.clone(), n.inputs.clone())),
        Op::Linalg(LinalgOp::MatMul) => {
            let b = const_input(g, n.inputs.get(1).copied().flatten())?;
            (b.rank() == 2 && b.dtype() == DType::F32 && f32_type(g, x)?.rank()? >= 2)
                .then(|| (op.clone(), n.inputs.clone()))
        }
        _ => None,
    }
}

/// If node `j` is `Add(out, other)` or `Add(other, out)` (or a two-input `Sum`, as Caffe2
/// exports write ResNet's shortcut), the other operand.
fn add_operand(g: &Graph, j: usize, out: ValueId) -> Option<ValueId> {
    if !matches!(
        kernel_op(g, j)?,
        Op::Elementwise(ElementwiseOp::Binary(BinaryOp::Add) | ElementwiseOp::Variadic(VariadicOp::Sum))
    ) {
        return None;
    }
    match g.nodes[j].inputs.as_slice() {
        [Some(a), Some(b)] if *a == out && *b != out => Some(*b),
        [Some(a), Some(b)] if *b == out && *a != out => Some(*a),
        _ => None,
    }
}

/// A constant f32 bias of `n` values along the last dim.
fn is_bias(g: &Graph, v: ValueId, n: Option<usize>) -> bool {
    const_input(g, Some(v)).is_some_and(|t| {
        t.dtype() == DType::F32 && Some(t.len()) == n && t.shape().iter().rev().skip(1).all(|&d| d == 1)
    })
}

/// The activation node `j` computes, if the write-back can apply it.
fn activation(g: &Graph, j: usize) -> Option<Activation> {
    let n = &g.nodes[j];
    Some(match kernel_op(g, j)? {
        Op::Elementwise(ElementwiseOp::Unary(u)) => match *u {
            UnaryOp::Relu => Activation::Relu,
            UnaryOp::LeakyRelu { alpha } => Activation::LeakyRelu(alpha),
            UnaryOp::Sigmoid => Activation::Sigmoid,
            UnaryOp::Tanh => Activation::Tanh,
            UnaryOp::Gelu { tanh: false } => Activation::Gelu,
            UnaryOp::Swish { alpha } if alpha == 1.0 => Activation::Silu,
            _ => return None,
        },
        Op::Elementwise(ElementwiseOp::Clip { min, max }) => {
            let bound = |k: usize, attr: &Option<f32>, dflt: f32| -> Option<f32> {
                match n.inputs.get(k).copied().flatten() {
                    Some(v) => const_input(g, Some(v))
                        .and_then(|t| t.to_f64_vec().ok())
                        .and_then(|v| (v.len() == 1).then(|| v[0] as f32)),
                    None => Some(attr.unwrap_or(dflt)),
                }
            };
            Activation::Clip(bound(1, min, f32::NEG_INFINITY)?, bound(2, max, f32::INFINITY)?)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::builder::GraphBuilder;
    use crate::passes::testing::{assert_same_outputs, conv_op, op_names, rnd};
    use suanli_kernels::Dim;

    /// A ResNet block tail: relu(conv3x3(x) + conv1x1(x)), and a dense layer relu(x·W + b).
    fn graph() -> Graph {
        let mut b = GraphBuilder::new();
        let x = b.input(
            "x",
            DType::F32,
            vec![Dim::Known(1), Dim::Known(3), Dim::Known(6), Dim::Known(7)],
        );
        let w1 = b.constant("w1", rnd(&[4, 3, 3, 3], 1, -0.5));
        let b1 = b.constant("b1", rnd(&[4], 2, -0.5));
        let w2 = b.constant("w2", rnd(&[4, 3, 1, 1], 3, -0.5));
        let c1 = b.op(conv_op(1), &[x, w1, b1]);
        let c2 = b.op(conv_op(0), &[x, w2]);
        let s = b.op(Op::Elementwise(ElementwiseOp::Binary(BinaryOp::Add)), &[c1, c2]);
        let r = b.op(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Relu)), &[s]);
        b.output(r, "block");
        let h = b.input("h", DType::F32, vec![Dim::Known(5), Dim::Known(8)]);
        let w = b.constant("w", rnd(&[8, 6], 4, -0.5));
        let bias = b.constant("bias", rnd(&[6], 5, -0.5));
        let m = b.op(Op::Linalg(LinalgOp::MatMul), &[h, w]);
        let a = b.op(Op::Elementwise(ElementwiseOp::Binary(BinaryOp::Add)), &[bias, m]);
        let t = b.op(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Tanh)), &[a]);
        b.output(t, "dense");
        b.build().unwrap()
    }

    #[test]
    fn conv_residual_relu_and_matmul_bias_tanh_fuse_with_the_same_outputs() {
        let before = graph();
        assert_eq!(
            op_names(&before),
            ["Conv", "Conv", "Add", "Relu", "MatMul", "Add", "Tanh"]
        );
        let mut after = before.clone();
        assert_eq!(fuse_epilogues(&mut after, &|_| true), 4);
        // The first Conv absorbs the residual Add (the second Conv's output) and the ReLU.
        assert_eq!(op_names(&after), ["Conv", "FusedConv", "FusedMatMul"]);
        let inputs = [("x", rnd(&[1, 3, 6, 7], 7, -1.0)), ("h", rnd(&[5, 8], 8, -1.0))];
        assert_same_outputs(before, after, &inputs);
    }

    #[test]
    fn a_two_input_sum_is_fused_as_a_residual() {
        // Caffe2's ResNet exports write the shortcut as Sum(branch, shortcut).
        let mut before = graph();
        before.nodes[2].op = NodeOp::Kernel(Op::Elementwise(ElementwiseOp::Variadic(VariadicOp::Sum)));
        assert_eq!(op_names(&before)[2], "Sum");
        let mut after = before.clone();
        assert_eq!(fuse_epilogues(&mut after, &|_| true), 4);
        assert_eq!(op_names(&after), ["Conv", "FusedConv", "FusedMatMul"]);
        let inputs = [("x", rnd(&[1, 3, 6, 7], 7, -1.0)), ("h", rnd(&[5, 8], 8, -1.0))];
        assert_same_outputs(before, after, &inputs);
    }

    #[test]
    fn a_value_read_twice_or_rejected_specs_stay_unfused() {
        let mut g = graph();
        let sum = g.nodes[2].outputs[0].unwrap();
        g.outputs.push(sum);
        assert_eq!(fuse_epilogues(&mut g, &|_| false), 0);
        // The Add's output is now a graph output: the ReLU cannot be absorbed past it.
        fuse_epilogues(&mut g, &|_| true);
        assert_eq!(op_names(&g), ["Conv", "FusedConv", "Relu", "FusedMatMul"]);
    }
}
