//! Transpose / reshape elimination:
//!
//! - `Transpose(Transpose(x, p1), p2)` → `Transpose(x, p1∘p2)`; a Transpose whose (composed)
//!   permutation is the identity is dropped.
//! - a chain of Reshape / Flatten / Squeeze / Unsqueeze → one Reshape to the last static shape;
//!   one whose static output shape equals its input's is dropped.
//! - Identity, and inference-mode Dropout (no `training_mode` input, mask output unread), are
//!   dropped: their output is their input.
//!
//! The intermediate of a merge must have no other reader. A dropped node's readers read its
//! input instead, unless its output is a graph output or a control-flow node reads it (those
//! keep the node). A Transpose swapping the last two axes in front of a MatMul is not folded
//! here: the kernels' MatMul has no transposed-operand form, and the attention pattern (where
//! exporters write one) absorbs it in [`super::fuse_attention`].

use super::{kernel_op, producers, spec_for, static_shape, use_counts};
use crate::graph::{Graph, NodeOp, ValueId};
use std::collections::HashMap;
use suanli_kernels::ops::layout::LayoutOp;
use suanli_kernels::{KernelSpec, Op, Tensor};

/// What one node is, for this pass.
enum Kind {
    /// A Transpose with its explicit permutation.
    Transpose(Vec<usize>),
    /// A pure reshape with a static output shape.
    Reshape(Vec<usize>),
    /// Output 0 is input 0 (Identity; Dropout without a `training_mode` input). Any other
    /// output must be unread for the node to be dropped.
    Passthrough,
}

/// Classify node `i` (its permutation needs the input's static rank).
fn kind(g: &Graph, i: usize) -> Option<Kind> {
    let n = &g.nodes[i];
    let x = n.inputs.first().copied().flatten()?;
    let y = n.outputs.first().copied().flatten()?;
    match kernel_op(g, i)? {
        Op::Layout(LayoutOp::Transpose { perm }) => {
            let rank = g.values[x.0].ty.tensor()?.rank()?;
            let p: Vec<usize> = match perm {
                Some(p) => p
                    .iter()
                    .map(|&a| usize::try_from(a).ok().filter(|&a| a < rank))
                    .collect::<Option<_>>()?,
                None => (0..rank).rev().collect(),
            };
            let mut seen = vec![false; rank];
            for &a in &p {
                if std::mem::replace(&mut seen[a], true) {
                    return None;
                }
            }
            (p.len() == rank).then_some(Kind::Transpose(p))
        }
        Op::Layout(
            LayoutOp::Reshape { .. } | LayoutOp::Flatten { .. } | LayoutOp::Squeeze { .. } | LayoutOp::Unsqueeze { .. },
        ) => Some(Kind::Reshape(static_shape(g, y)?)),
        Op::Layout(LayoutOp::Identity) => Some(Kind::Passthrough),
        Op::Layout(LayoutOp::Dropout { training: false, .. }) if n.inputs.get(2).copied().flatten().is_none() => {
            Some(Kind::Passthrough)
        }
        _ => None,
    }
}

/// Merge and drop layout nodes; `accept` must allow every rewritten node's spec. Returns how
/// many nodes were removed.
pub fn eliminate_transposes(g: &mut Graph, accept: &dyn Fn(&KernelSpec) -> bool) -> usize {
    let uses = use_counts(g);
    let producer = producers(g);
    let mut remove = vec![false; g.nodes.len()];
    for i in 0..g.nodes.len() {
        let Some(k) = kind(g, i) else { continue };
        let Some(a) = g.nodes[i].inputs.first().copied().flatten() else {
            continue;
        };
        let Some(j) = producer[a.0].filter(|&j| uses[a.0] == 1 && !remove[j]) else {
            continue;
        };
        let Some(x) = g.nodes[j].inputs.first().copied().flatten() else {
            continue;
        };
        let y = match g.nodes[i].outputs.first().copied().flatten() {
            Some(y) => y,
            None => continue,
        };
        let (op, inputs) = match (kind(g, j), k) {
            (Some(Kind::Transpose(p1)), Kind::Transpose(p2)) => {
                let perm = p2.iter().map(|&a| p1[a] as i64).collect();
                (Op::Layout(LayoutOp::Transpose { perm: Some(perm) }), vec![Some(x)])
            }
            (Some(Kind::Reshape(_)), Kind::Reshape(shape)) => {
                let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
                let n = dims.len();
                let Ok(t) = Tensor::from_vec(vec![n], dims) else {
                    continue;
                };
                let name = format!("{}.shape", g.nodes[i].name);
                let s = super::add_constant(g, name, t);
                (
                    Op::Layout(LayoutOp::Reshape {
                        allowzero: shape.contains(&0),
                    }),
                    vec![Some(x), Some(s)],
                )
            }
            _ => continue,
        };
        if !spec_for(g, &op, &inputs, &[y]).is_some_and(|s| accept(&s)) {
            continue;
        }
        let n = &mut g.nodes[i];
        n.op = NodeOp::Kernel(op);
        n.formal_inputs = inputs.len();
        n.inputs = inputs;
        n.outputs.truncate(1);
        remove[j] = true;
    }
    // Drop identity transposes, same-shape reshapes and pass-through nodes whose other outputs
    // (Dropout's mask) nobody reads.
    let unread = |v: &Option<ValueId>| v.is_none_or(|v| uses[v.0] == 0);
    let mut alias: HashMap<ValueId, ValueId> = HashMap::new();
    let outputs: Vec<ValueId> = g.outputs.clone();
    let control_read: Vec<bool> = {
        let mut r = vec![false; g.values.len()];
        for n in &g.nodes {
            if !matches!(n.op, NodeOp::Kernel(_)) {
                for v in n.inputs.iter().flatten() {
                    r[v.0] = true;
                }
            }
        }
        r
    };
    for i in 0..g.nodes.len() {
        if remove[i] {
            continue;
        }
        let (Some(x), Some(y)) = (
            g.nodes[i].inputs.first().copied().flatten(),
            g.nodes[i].outputs.first().copied().flatten(),
        ) else {
            continue;
        };
        let identity = match kind(g, i) {
            Some(Kind::Transpose(p)) => p.iter().enumerate().all(|(k, &a)| k == a),
            Some(Kind::Reshape(s)) => static_shape(g, x).is_some_and(|xs| xs == s),
            Some(Kind::Passthrough) => g.nodes[i].outputs.iter().skip(1).all(unread),
            None => false,
        };
        let same_type = g.values[x.0].ty == g.values[y.0].ty;
        if identity && same_type && !outputs.contains(&y) && !control_read[y.0] {
            alias.insert(y, x);
            remove[i] = true;
        }
    }
    let resolve = |mut v: ValueId| {
        while let Some(&x) = alias.get(&v) {
            v = x;
        }
        v
    };
    for n in &mut g.nodes {
        for v in n.inputs.iter_mut().flatten() {
            *v = resolve(*v);
        }
    }
    let count = remove.iter().filter(|&&r| r).count();
    super::splice(g, &remove, HashMap::new());
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::builder::GraphBuilder;
    use crate::passes::testing::{assert_same_outputs, op_names, rnd};
    use suanli_kernels::ops::elementwise::{ElementwiseOp, UnaryOp};
    use suanli_kernels::{DType, Dim};

    fn tr(perm: &[i64]) -> Op {
        Op::Layout(LayoutOp::Transpose {
            perm: Some(perm.to_vec()),
        })
    }
    fn reshape() -> Op {
        Op::Layout(LayoutOp::Reshape { allowzero: false })
    }
    fn shape(b: &mut GraphBuilder, name: &str, s: &[i64]) -> ValueId {
        b.constant(name, Tensor::from_vec(vec![s.len()], s.to_vec()).unwrap())
    }

    /// `x [2, 3, 4, 5]`: heads split and merged back (Transpose pair composing to a 3-cycle),
    /// a Transpose pair composing to the identity, a Reshape → Flatten → Reshape chain, a
    /// Reshape to the same shape, and a Transpose pair whose middle is also a graph output.
    fn graph() -> Graph {
        let mut b = GraphBuilder::new();
        let x = b.input("x", DType::F32, [2, 3, 4, 5].map(Dim::Known).to_vec());
        let relu = |b: &mut GraphBuilder, v| b.op(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Relu)), &[v]);
        let t1 = b.op(tr(&[0, 2, 1, 3]), &[x]);
        let t2 = b.op(tr(&[0, 1, 3, 2]), &[t1]);
        let y1 = relu(&mut b, t2);
        b.output(y1, "composed");
        let t3 = b.op(tr(&[0, 2, 1, 3]), &[x]);
        let t4 = b.op(tr(&[0, 2, 1, 3]), &[t3]);
        let y2 = relu(&mut b, t4);
        b.output(y2, "identity");
        let s1 = shape(&mut b, "s1", &[6, 20]);
        let r1 = b.op(reshape(), &[x, s1]);
        let f = b.op(Op::Layout(LayoutOp::Flatten { axis: 0 }), &[r1]);
        let s2 = shape(&mut b, "s2", &[0, 4, -1]);
        let r2 = b.op(Op::Layout(LayoutOp::Reshape { allowzero: false }), &[f, s2]);
        b.output(r2, "reshaped");
        let s3 = shape(&mut b, "s3", &[2, 3, 4, 5]);
        let r3 = b.op(reshape(), &[x, s3]);
        let y4 = relu(&mut b, r3);
        b.output(y4, "same");
        let t5 = b.op(tr(&[1, 0, 2, 3]), &[x]);
        let t6 = b.op(tr(&[1, 0, 2, 3]), &[t5]);
        b.output(t5, "middle");
        b.output(t6, "kept");
        b.build().unwrap()
    }

    #[test]
    fn transpose_and_reshape_chains_merge_or_vanish_with_the_same_outputs() {
        let before = graph();
        assert_eq!(before.nodes.len(), 3 + 3 + 3 + 2 + 2);
        let mut after = before.clone();
        // Merged: t1, t3+t4, r1, f (into r2), r3; dropped identity: t4 (after merging).
        assert_eq!(eliminate_transposes(&mut after, &|_| true), 6);
        assert_eq!(
            op_names(&after),
            ["Transpose", "Relu", "Relu", "Reshape", "Relu", "Transpose", "Transpose"]
        );
        // The composed permutation of the first pair.
        assert!(matches!(&after.nodes[0].op,
            NodeOp::Kernel(Op::Layout(LayoutOp::Transpose { perm: Some(p) })) if *p == [0, 2, 3, 1]));
        assert_same_outputs(before, after, &[("x", rnd(&[2, 3, 4, 5], 1, -0.5))]);
    }

    #[test]
    fn rejected_specs_keep_the_chains() {
        let mut g = graph();
        // Only identities are dropped when no rewritten spec is accepted.
        assert_eq!(eliminate_transposes(&mut g, &|_| false), 1);
        assert_eq!(g.nodes.len(), 12);
    }

    /// Identity and an inference Dropout vanish; a Dropout whose mask is read, and one whose
    /// output is a graph output, stay.
    #[test]
    fn pass_through_nodes_vanish_unless_their_outputs_are_needed() {
        let dropout = || {
            Op::Layout(LayoutOp::Dropout {
                ratio: 0.5,
                training: false,
                mask_bool: true,
            })
        };
        let mut b = GraphBuilder::new();
        let x = b.input("x", DType::F32, [2, 3].map(Dim::Known).to_vec());
        let relu = |b: &mut GraphBuilder, v| b.op(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Relu)), &[v]);
        let i = b.op(Op::Layout(LayoutOp::Identity), &[x]);
        let d = b.op(dropout(), &[i]);
        let y = relu(&mut b, d);
        b.output(y, "through");
        let (d2, mask) = {
            let o = b.op_n(dropout(), &[x], 2);
            (o[0], o[1])
        };
        let y2 = relu(&mut b, d2);
        b.output(y2, "masked");
        b.output(mask, "mask");
        let d3 = b.op(dropout(), &[x]);
        b.output(d3, "direct");
        let before = b.build().unwrap();
        let mut after = before.clone();
        assert_eq!(eliminate_transposes(&mut after, &|_| true), 2);
        assert_eq!(op_names(&after), ["Relu", "Dropout", "Relu", "Dropout"]);
        assert_same_outputs(before, after, &[("x", rnd(&[2, 3], 2, -0.5))]);
    }
}
