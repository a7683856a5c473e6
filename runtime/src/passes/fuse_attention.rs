//! Attention pattern fusion: scaled dot-product attention as PyTorch / HF BERT export it,
//!
//! ```text
//! S = MatMul(Q, Kᵀ)                  Kᵀ: any value [.., d, T], or Transpose(K) swapping the last two axes
//! L = Div(S, c) | Mul(S, c)          c a constant scalar (optional)
//! L = Add(L, mask)                   optional, mask broadcastable to L
//! P = Softmax(L, axis = -1)
//! Y = MatMul(P, V)
//! ```
//!
//! becomes one `FusedAttention` node (`AttentionOp::Fused`) whose CPU kernel keeps each score
//! block cache-resident. Q, Kᵀ and V must be f32 with static shapes, one rank and equal
//! leading dims; every intermediate must have no other reader.

use super::{binary_inputs, kernel_op, scalar_const, spec_for, static_shape, use_counts};
use crate::graph::{Graph, Node, NodeOp, ValueId};
use std::collections::HashMap;
use suanli_kernels::ops::attention::{AttentionOp, FusedAttentionAttrs};
use suanli_kernels::ops::elementwise::BinaryOp;
use suanli_kernels::ops::layout::LayoutOp;
use suanli_kernels::ops::linalg::LinalgOp;
use suanli_kernels::ops::reduce::{ReduceOp, SoftmaxKind};
use suanli_kernels::{DType, KernelSpec, Op};

/// Rewrite every attention pattern `accept` allows. Returns how many were rewritten.
pub fn fuse_attention(g: &mut Graph, accept: &dyn Fn(&KernelSpec) -> bool) -> usize {
    let uses = use_counts(g);
    let producer = super::producers(g);
    let mut taken = vec![false; g.nodes.len()];
    let mut remove = vec![false; g.nodes.len()];
    let mut replace: HashMap<usize, Node> = HashMap::new();
    for i in 0..g.nodes.len() {
        let Some((node, absorbed)) = matches(g, i, &uses, &producer) else {
            continue;
        };
        if absorbed.iter().any(|&j| taken[j]) || taken[i] {
            continue;
        }
        let NodeOp::Kernel(op) = &node.op else { continue };
        let outs: Vec<ValueId> = node.outputs.iter().flatten().copied().collect();
        match spec_for(g, op, &node.inputs, &outs) {
            Some(spec) if accept(&spec) => {}
            _ => continue,
        }
        taken[i] = true;
        for &j in &absorbed {
            taken[j] = true;
            remove[j] = true;
        }
        replace.insert(i, node);
    }
    let count = replace.len();
    super::splice(g, &remove, replace);
    count
}

/// The f32 static shape of `v`.
fn f32_shape(g: &Graph, v: ValueId) -> Option<Vec<usize>> {
    let t = g.values.get(v.0)?.ty.tensor()?;
    (t.dtype == DType::F32).then_some(())?;
    static_shape(g, v)
}

/// If node `i` is the context MatMul of an attention pattern: the fused node and the nodes it
/// absorbs.
fn matches(g: &Graph, i: usize, uses: &[usize], producer: &[Option<usize>]) -> Option<(Node, Vec<usize>)> {
    let mm2 = &g.nodes[i];
    if !matches!(kernel_op(g, i)?, Op::Linalg(LinalgOp::MatMul)) {
        return None;
    }
    let (Some(p), Some(v)) = (
        mm2.inputs.first().copied().flatten(),
        mm2.inputs.get(1).copied().flatten(),
    ) else {
        return None;
    };
    let y = mm2.outputs.first().copied().flatten()?;
    // A value read once, by the pattern: its producer.
    let inner = |v: ValueId| producer[v.0].filter(|_| uses[v.0] == 1);
    let sm = inner(p)?;
    let p_shape = f32_shape(g, p)?;
    let r = p_shape.len();
    match kernel_op(g, sm)? {
        Op::Reduce(ReduceOp::Softmax {
            kind: SoftmaxKind::Softmax,
            axis,
            ..
        }) if *axis == -1 || *axis == r as i64 - 1 => {}
        _ => return None,
    }
    let mut l = g.nodes[sm].inputs.first().copied().flatten()?;
    let mut absorbed = vec![sm];
    // Optional mask Add: the operand that is not the scaled product.
    let mut mask = None;
    if let Some(add) = inner(l) {
        if let Some((a, b)) = binary_inputs(g, add, BinaryOp::Add) {
            let scaled_side = |x: ValueId| inner(x).is_some_and(|j| is_scale_or_qk(g, j));
            let (s, m) = if scaled_side(a) && !scaled_side(b) {
                (a, b)
            } else if scaled_side(b) {
                (b, a)
            } else {
                return None;
            };
            let ms = f32_shape(g, m)?;
            let fits = ms.len() <= r
                && ms
                    .iter()
                    .rev()
                    .zip(p_shape.iter().rev())
                    .all(|(&x, &y)| x == y || x == 1);
            // The Add must not broadcast the scores up.
            if !fits || f32_shape(g, s)? != p_shape {
                return None;
            }
            mask = Some(m);
            absorbed.push(add);
            l = s;
        }
    }
    // Optional scale.
    let mut scale = 1.0f64;
    let mut j = inner(l)?;
    if let Some((a, c)) = binary_inputs(g, j, BinaryOp::Div) {
        scale = 1.0 / scalar_const(g, c)?;
        absorbed.push(j);
        l = a;
        j = inner(l)?;
    } else if let Some((a, b)) = binary_inputs(g, j, BinaryOp::Mul) {
        let (s, c) = match (scalar_const(g, a), scalar_const(g, b)) {
            (None, Some(c)) => (a, c),
            (Some(c), None) => (b, c),
            _ => return None,
        };
        scale = c;
        absorbed.push(j);
        l = s;
        j = inner(l)?;
    }
    if !scale.is_finite() {
        return None;
    }
    if !matches!(kernel_op(g, j)?, Op::Linalg(LinalgOp::MatMul)) {
        return None;
    }
    absorbed.push(j);
    let (Some(q), Some(kt)) = (
        g.nodes[j].inputs.first().copied().flatten(),
        g.nodes[j].inputs.get(1).copied().flatten(),
    ) else {
        return None;
    };
    let (qs, kts, vs) = (f32_shape(g, q)?, f32_shape(g, kt)?, f32_shape(g, v)?);
    if qs.len() != r || kts.len() != r || vs.len() != r || r < 2 {
        return None;
    }
    let lead = &qs[..r - 2];
    let (s, d, t, dv) = (qs[r - 2], qs[r - 1], kts[r - 1], vs[r - 1]);
    if &kts[..r - 2] != lead || &vs[..r - 2] != lead || kts[r - 2] != d || vs[r - 2] != t {
        return None;
    }
    if p_shape[..r - 2] != *lead || p_shape[r - 2..] != [s, t] || f32_shape(g, y)?.last() != Some(&dv) {
        return None;
    }
    // Kᵀ made by a Transpose swapping the last two axes: read K transposed instead.
    let mut k = kt;
    let mut k_transposed = true;
    if let Some(tr) = inner(kt) {
        if let Op::Layout(LayoutOp::Transpose { perm: Some(perm) }) = kernel_op(g, tr)? {
            let swap: Vec<i64> = (0..r as i64 - 2).chain([r as i64 - 1, r as i64 - 2]).collect();
            if *perm == swap {
                if let Some(src) = g.nodes[tr].inputs.first().copied().flatten() {
                    k = src;
                    k_transposed = false;
                    absorbed.push(tr);
                }
            }
        }
    }
    let node = Node {
        name: format!("{}.attention", mm2.name),
        op: NodeOp::Kernel(Op::Attention(AttentionOp::Fused(FusedAttentionAttrs {
            scale: scale as f32,
            k_transposed,
        }))),
        inputs: vec![Some(q), Some(k), Some(v), mask],
        outputs: vec![Some(y)],
        formal_inputs: 4,
    };
    Some((node, absorbed))
}

/// Node `j` is a scale (Div / Mul by a scalar constant) or a MatMul: the product side of the
/// mask Add.
fn is_scale_or_qk(g: &Graph, j: usize) -> bool {
    let scaled =
        |op| binary_inputs(g, j, op).is_some_and(|(a, b)| scalar_const(g, a).is_some() ^ scalar_const(g, b).is_some());
    matches!(kernel_op(g, j), Some(Op::Linalg(LinalgOp::MatMul)))
        || binary_inputs(g, j, BinaryOp::Div).is_some_and(|(_, c)| scalar_const(g, c).is_some())
        || scaled(BinaryOp::Mul)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::builder::GraphBuilder;
    use crate::passes::testing::{assert_same_outputs, op_names, rnd};
    use suanli_kernels::{Dim, Tensor};

    fn bin(op: BinaryOp) -> Op {
        Op::Elementwise(ElementwiseOp::Binary(op))
    }
    use suanli_kernels::ops::elementwise::ElementwiseOp;

    fn dims(d: &[usize]) -> Vec<Dim> {
        d.iter().map(|&x| Dim::Known(x)).collect()
    }

    fn softmax() -> Op {
        Op::Reduce(ReduceOp::Softmax {
            kind: SoftmaxKind::Softmax,
            axis: -1,
            coerce_2d: false,
        })
    }

    /// Two attention blocks over `[1, 3, 6, 4]` heads: BERT's (Kᵀ given, Div, key mask) and
    /// HF's K read through a Transpose(0, 1, 3, 2) with a Mul scale and no mask; plus one whose
    /// scores are also a graph output (not fusable).
    fn graph() -> Graph {
        let mut b = GraphBuilder::new();
        let q = b.input("q", DType::F32, dims(&[1, 3, 6, 4]));
        let kt = b.input("kt", DType::F32, dims(&[1, 3, 4, 6]));
        let k = b.input("k", DType::F32, dims(&[1, 3, 6, 4]));
        let v = b.input("v", DType::F32, dims(&[1, 3, 6, 5]));
        let mask = b.input("mask", DType::F32, dims(&[1, 1, 1, 6]));
        let c = b.constant("c", Tensor::scalar(2.0f32));
        let s = b.op(Op::Linalg(LinalgOp::MatMul), &[q, kt]);
        let s = b.op(bin(BinaryOp::Div), &[s, c]);
        let s = b.op(bin(BinaryOp::Add), &[mask, s]);
        let p = b.op(softmax(), &[s]);
        let y = b.op(Op::Linalg(LinalgOp::MatMul), &[p, v]);
        b.output(y, "bert");
        let t = b.op(
            Op::Layout(LayoutOp::Transpose {
                perm: Some(vec![0, 1, 3, 2]),
            }),
            &[k],
        );
        let s = b.op(Op::Linalg(LinalgOp::MatMul), &[q, t]);
        let s = b.op(bin(BinaryOp::Mul), &[c, s]);
        let p = b.op(softmax(), &[s]);
        let y = b.op(Op::Linalg(LinalgOp::MatMul), &[p, v]);
        b.output(y, "hf");
        let s = b.op(Op::Linalg(LinalgOp::MatMul), &[q, kt]);
        let p = b.op(softmax(), &[s]);
        let y = b.op(Op::Linalg(LinalgOp::MatMul), &[p, v]);
        b.output(y, "shared");
        b.output(s, "scores");
        b.build().unwrap()
    }

    #[test]
    fn exported_attention_becomes_one_node_with_the_same_outputs() {
        let before = graph();
        assert_eq!(
            op_names(&before),
            [
                "MatMul",
                "Div",
                "Add",
                "Softmax",
                "MatMul",
                "Transpose",
                "MatMul",
                "Mul",
                "Softmax",
                "MatMul",
                "MatMul",
                "Softmax",
                "MatMul"
            ]
        );
        let mut after = before.clone();
        assert_eq!(fuse_attention(&mut after, &|_| true), 2);
        assert_eq!(
            op_names(&after),
            ["FusedAttention", "FusedAttention", "MatMul", "Softmax", "MatMul"]
        );
        let attrs: Vec<_> = after.nodes[..2]
            .iter()
            .map(|n| match &n.op {
                NodeOp::Kernel(Op::Attention(AttentionOp::Fused(a))) => *a,
                _ => unreachable!("checked above"),
            })
            .collect();
        assert_eq!((attrs[0].scale, attrs[0].k_transposed), (0.5, true));
        assert_eq!((attrs[1].scale, attrs[1].k_transposed), (2.0, false));
        let mut mv = rnd(&[1, 1, 1, 6], 5, 0.0).to_f32_vec().unwrap();
        mv[2] = -10000.0;
        let m = Tensor::from_vec(vec![1, 1, 1, 6], mv).unwrap();
        let inputs = [
            ("q", rnd(&[1, 3, 6, 4], 1, -1.0)),
            ("kt", rnd(&[1, 3, 4, 6], 2, -1.0)),
            ("k", rnd(&[1, 3, 6, 4], 3, -1.0)),
            ("v", rnd(&[1, 3, 6, 5], 4, -1.0)),
            ("mask", m),
        ];
        assert_same_outputs(before, after, &inputs);
    }

    #[test]
    fn rejected_specs_stay_unfused() {
        let mut g = graph();
        assert_eq!(fuse_attention(&mut g, &|_| false), 0);
        // A device that takes everything but the fused attention (as wgpu does).
        let not_attention = |s: &KernelSpec| !matches!(s.op, Op::Attention(_));
        assert_eq!(fuse_attention(&mut g, &not_attention), 0);
        assert_eq!(g.nodes.len(), 13);
    }
}
