//! LayerNorm pattern fusion: the decomposition exporters write before opset 17,
//!
//! ```text
//! μ = ReduceMean(x)            over the trailing axes, keepdims
//! d = Sub(x, μ)
//! v = ReduceMean(Pow(d, 2))    (or Mul(d, d))
//! n = Div(d, Sqrt(Add(v, ε)))  (or Mul(d, Reciprocal(Sqrt(…))))
//! y = Add(Mul(n, γ), β)        (γ, β optional constants)
//! ```
//!
//! becomes one `LayerNormalization` node (γ = 1 when absent). ε must be a constant scalar, the
//! reduced axes the trailing ones of x, γ / β constants over them, and every intermediate
//! read only inside the pattern.

use super::{binary_inputs, const_input, kernel_op, producers, scalar_const, spec_for, use_counts};
use crate::graph::{Graph, Node, NodeOp, ValueId};
use std::collections::HashMap;
use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp};
use suanli_kernels::ops::norm::NormOp;
use suanli_kernels::ops::reduce::{ReduceKind, ReduceOp};
use suanli_kernels::{KernelSpec, Op, Tensor};

/// A matched pattern.
struct Match {
    x: ValueId,
    axis: i64,
    eps: f32,
    gamma: Option<ValueId>,
    beta: Option<ValueId>,
    /// Trailing dims normalised over (the shape γ takes when absent).
    norm_shape: Vec<usize>,
    /// Every node of the pattern; the last one is replaced by the fused node.
    nodes: Vec<usize>,
}

/// Rewrite every decomposed LayerNorm `accept` allows. Returns how many were rewritten.
pub fn fuse_layernorm(g: &mut Graph, accept: &dyn Fn(&KernelSpec) -> bool) -> usize {
    let uses = use_counts(g);
    let producer = producers(g);
    let mut consumers: HashMap<ValueId, Vec<usize>> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        for v in n.inputs.iter().flatten() {
            consumers.entry(*v).or_default().push(i);
        }
    }
    let mut taken = vec![false; g.nodes.len()];
    let mut remove = vec![false; g.nodes.len()];
    let mut replace: HashMap<usize, Node> = HashMap::new();
    for i in 0..g.nodes.len() {
        let Some(m) = matches(g, i, &uses, &consumers, &producer) else {
            continue;
        };
        if m.nodes.iter().any(|&j| taken[j]) {
            continue;
        }
        let Some(&last) = m.nodes.iter().max() else { continue };
        let Some(out) = g.nodes[last].outputs.first().copied().flatten() else {
            continue;
        };
        let op = Op::Norm(NormOp::LayerNorm {
            axis: m.axis,
            epsilon: m.eps,
        });
        let gamma = match m.gamma {
            Some(v) => v,
            None => {
                let n: usize = m.norm_shape.iter().product();
                let Ok(ones) = Tensor::from_vec(m.norm_shape.clone(), vec![1f32; n]) else {
                    continue;
                };
                let name = format!("{}.ln_gamma", g.nodes[last].name);
                super::add_constant(g, name, ones)
            }
        };
        let inputs = vec![Some(m.x), Some(gamma), m.beta];
        match spec_for(g, &op, &inputs, &[out]) {
            Some(spec) if accept(&spec) => {}
            _ => continue,
        }
        for &j in &m.nodes {
            taken[j] = true;
            remove[j] = j != last;
        }
        replace.insert(
            last,
            Node {
                name: format!("{}.layernorm", g.nodes[last].name),
                op: NodeOp::Kernel(op),
                formal_inputs: inputs.len(),
                inputs,
                outputs: vec![Some(out)],
            },
        );
    }
    let count = replace.len();
    super::splice(g, &remove, replace);
    count
}

/// The normalised trailing axes of ReduceMean node `i` as `(first axis, rank)` when it keeps
/// dims and reduces exactly the trailing axes `first..rank` of its (ranked) input.
fn reduce_mean_axes(g: &Graph, i: usize) -> Option<(usize, usize)> {
    let Op::Reduce(ReduceOp::Reduce {
        kind: ReduceKind::Mean,
        axes,
        keepdims: true,
        ..
    }) = kernel_op(g, i)?
    else {
        return None;
    };
    let n = &g.nodes[i];
    let x = n.inputs.first().copied().flatten()?;
    let rank = g.values[x.0].ty.tensor()?.rank()?;
    let axes: Vec<i64> = match axes {
        Some(a) => a.clone(),
        None => {
            let t = const_input(g, n.inputs.get(1).copied().flatten())?;
            t.to_f64_vec().ok()?.iter().map(|&a| a as i64).collect()
        }
    };
    if axes.is_empty() {
        return None;
    }
    let mut norm: Vec<usize> = axes
        .iter()
        .map(|&a| {
            let a = if a < 0 { a + rank as i64 } else { a };
            (0..rank as i64).contains(&a).then_some(a as usize)
        })
        .collect::<Option<_>>()?;
    norm.sort_unstable();
    norm.dedup();
    let first = rank.checked_sub(norm.len())?;
    (norm.len() == axes.len() && norm.iter().enumerate().all(|(k, &a)| a == first + k)).then_some((first, rank))
}

fn unary(g: &Graph, i: usize, op: UnaryOp) -> Option<ValueId> {
    match kernel_op(g, i)? {
        Op::Elementwise(ElementwiseOp::Unary(u)) if *u == op => g.nodes[i].inputs.first().copied().flatten(),
        _ => None,
    }
}

/// A constant parameter over the normalised dims: its shape, with leading 1s dropped, is
/// `norm_shape`.
fn is_param(g: &Graph, v: ValueId, norm_shape: &[usize]) -> bool {
    const_input(g, Some(v)).is_some_and(|t| {
        let s = t.shape();
        let lead = s.len().saturating_sub(norm_shape.len());
        t.dtype() == suanli_kernels::DType::F32 && s[lead..] == *norm_shape && s[..lead].iter().all(|&d| d == 1)
    })
}

/// If node `i` is the first ReduceMean of a LayerNorm pattern: the match.
fn matches(
    g: &Graph,
    i: usize,
    uses: &[usize],
    consumers: &HashMap<ValueId, Vec<usize>>,
    producer: &[Option<usize>],
) -> Option<Match> {
    let (first, rank) = reduce_mean_axes(g, i)?;
    let x = g.nodes[i].inputs.first().copied().flatten()?;
    let x_ty = g.values[x.0].ty.tensor()?;
    if x_ty.dtype != suanli_kernels::DType::F32 {
        return None;
    }
    let x_shape = x_ty.concrete()?;
    let norm_shape = x_shape[first..rank].to_vec();
    // The single reader of `v`, when nothing else (and no graph output) reads it.
    let only = |v: ValueId, n: usize| -> Option<usize> {
        let c = consumers.get(&v)?;
        (uses[v.0] == n && c.iter().all(|&j| j == c[0])).then(|| c[0])
    };
    let out = |j: usize| g.nodes[j].outputs.first().copied().flatten();
    let mean = out(i)?;
    let sub = only(mean, 1)?;
    let (sx, sm) = binary_inputs(g, sub, BinaryOp::Sub)?;
    if sx != x || sm != mean {
        return None;
    }
    let d = out(sub)?;
    // d is read by the square (once via Pow, twice via Mul(d, d)) and by the Div / Mul.
    let mut readers = consumers.get(&d)?.clone();
    readers.dedup();
    let mut sq = None;
    let mut scale = None;
    for &j in &readers {
        if let Some((a, e)) = binary_inputs(g, j, BinaryOp::Pow) {
            if a == d && scalar_const(g, e) == Some(2.0) && sq.is_none() {
                sq = Some(j);
                continue;
            }
        }
        if let Some((a, b)) = binary_inputs(g, j, BinaryOp::Mul) {
            if a == d && b == d && sq.is_none() {
                sq = Some(j);
                continue;
            }
        }
        if scale.is_none() || scale == Some(j) {
            scale = Some(j);
        } else {
            return None;
        }
    }
    let (sq, scale) = (sq?, scale?);
    let square_reads = if binary_inputs(g, sq, BinaryOp::Pow).is_some() {
        1
    } else {
        2
    };
    if uses[d.0] != square_reads + 1 {
        return None;
    }
    let var_node = only(out(sq)?, 1)?;
    if reduce_mean_axes(g, var_node)? != (first, rank) {
        return None;
    }
    let add = only(out(var_node)?, 1)?;
    let (p, q) = binary_inputs(g, add, BinaryOp::Add)?;
    let v_out = out(var_node)?;
    let eps = match (p == v_out, q == v_out) {
        (true, false) => scalar_const(g, q)?,
        (false, true) => scalar_const(g, p)?,
        _ => return None,
    };
    if !(eps.is_finite() && eps >= 0.0) {
        return None;
    }
    let sqrt = only(out(add)?, 1)?;
    if unary(g, sqrt, UnaryOp::Sqrt)? != out(add)? {
        return None;
    }
    let sd = out(sqrt)?;
    // n = d / sd, or d · (1 / sd).
    let mut nodes = vec![i, sub, sq, var_node, add, sqrt];
    let normed = if binary_inputs(g, scale, BinaryOp::Div) == Some((d, sd)) {
        if only(sd, 1)? != scale {
            return None;
        }
        nodes.push(scale);
        out(scale)?
    } else {
        let rcp = only(sd, 1)?;
        if unary(g, rcp, UnaryOp::Reciprocal)? != sd {
            return None;
        }
        let r = out(rcp)?;
        if only(r, 1)? != scale {
            return None;
        }
        let (a, b) = binary_inputs(g, scale, BinaryOp::Mul)?;
        if !((a == d && b == r) || (a == r && b == d)) {
            return None;
        }
        nodes.extend([rcp, scale]);
        out(scale)?
    };
    if producer[normed.0] != Some(scale) {
        return None;
    }
    let mut m = Match {
        x,
        axis: first as i64,
        eps: eps as f32,
        gamma: None,
        beta: None,
        norm_shape,
        nodes,
    };
    // Optional γ then β.
    let mut cur = normed;
    if let Some(j) = only(cur, 1) {
        if let Some((a, b)) = binary_inputs(g, j, BinaryOp::Mul) {
            let other = if a == cur { b } else { a };
            if (a == cur) != (b == cur) && is_param(g, other, &m.norm_shape) {
                m.gamma = Some(other);
                m.nodes.push(j);
                cur = out(j)?;
            }
        }
    }
    if let Some(j) = only(cur, 1) {
        if let Some((a, b)) = binary_inputs(g, j, BinaryOp::Add) {
            let other = if a == cur { b } else { a };
            if (a == cur) != (b == cur) && is_param(g, other, &m.norm_shape) {
                m.beta = Some(other);
                m.nodes.push(j);
            }
        }
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::builder::GraphBuilder;
    use crate::passes::testing::{assert_same_outputs, op_names, rnd};
    use suanli_kernels::{DType, Dim};

    fn bin(op: BinaryOp) -> Op {
        Op::Elementwise(ElementwiseOp::Binary(op))
    }
    fn un(op: UnaryOp) -> Op {
        Op::Elementwise(ElementwiseOp::Unary(op))
    }
    fn mean(axes: Vec<i64>) -> Op {
        Op::Reduce(ReduceOp::Reduce {
            kind: ReduceKind::Mean,
            axes: Some(axes),
            keepdims: true,
            noop_with_empty_axes: false,
        })
    }

    /// Three decompositions of LayerNorm over `[2, 5, 8]`: Pow/Div with γ and β (HF BERT), Mul
    /// self / Reciprocal·Mul with neither, and one reducing the wrong axis.
    fn graph() -> Graph {
        let mut b = GraphBuilder::new();
        let x = b.input("x", DType::F32, vec![Dim::Known(2), Dim::Known(5), Dim::Known(8)]);
        let two = b.constant("two", Tensor::scalar(2.0f32));
        let eps = b.constant("eps", Tensor::scalar(1e-5f32));
        let gamma = b.constant("gamma", rnd(&[8], 1, 0.5));
        let beta = b.constant("beta", rnd(&[8], 2, -0.5));
        // 1: HF BERT.
        let m = b.op(mean(vec![-1]), &[x]);
        let d = b.op(bin(BinaryOp::Sub), &[x, m]);
        let p = b.op(bin(BinaryOp::Pow), &[d, two]);
        let v = b.op(mean(vec![-1]), &[p]);
        let ve = b.op(bin(BinaryOp::Add), &[v, eps]);
        let s = b.op(un(UnaryOp::Sqrt), &[ve]);
        let n = b.op(bin(BinaryOp::Div), &[d, s]);
        let y = b.op(bin(BinaryOp::Mul), &[gamma, n]);
        let y = b.op(bin(BinaryOp::Add), &[y, beta]);
        b.output(y, "y1");
        // 2: Mul(d, d), Reciprocal · Mul, no affine.
        let m = b.op(mean(vec![2]), &[x]);
        let d = b.op(bin(BinaryOp::Sub), &[x, m]);
        let p = b.op(bin(BinaryOp::Mul), &[d, d]);
        let v = b.op(mean(vec![2]), &[p]);
        let ve = b.op(bin(BinaryOp::Add), &[eps, v]);
        let s = b.op(un(UnaryOp::Sqrt), &[ve]);
        let r = b.op(un(UnaryOp::Reciprocal), &[s]);
        let n = b.op(bin(BinaryOp::Mul), &[r, d]);
        b.output(n, "y2");
        // 3: the variance over axis 1 is not a LayerNorm over the last axis.
        let m = b.op(mean(vec![-1]), &[x]);
        let d = b.op(bin(BinaryOp::Sub), &[x, m]);
        let p = b.op(bin(BinaryOp::Pow), &[d, two]);
        let v = b.op(mean(vec![1]), &[p]);
        let ve = b.op(bin(BinaryOp::Add), &[v, eps]);
        let s = b.op(un(UnaryOp::Sqrt), &[ve]);
        let n = b.op(bin(BinaryOp::Div), &[d, s]);
        b.output(n, "y3");
        b.build().unwrap()
    }

    #[test]
    fn decomposed_layernorms_become_one_node_with_the_same_outputs() {
        let before = graph();
        assert_eq!(before.nodes.len(), 9 + 8 + 7);
        let mut after = before.clone();
        assert_eq!(fuse_layernorm(&mut after, &|_| true), 2);
        let names = op_names(&after);
        assert_eq!(names[..2], ["LayerNormalization", "LayerNormalization"]);
        // The wrong-axis chain stays as it was.
        assert_eq!(names.len(), 2 + 7);
        // The Mul(d, d) form got a γ of ones and no β.
        let ln2 = &after.nodes[1];
        assert_eq!(ln2.inputs.len(), 3);
        assert!(ln2.inputs[2].is_none());
        assert_same_outputs(before, after, &[("x", rnd(&[2, 5, 8], 3, -2.0))]);
    }

    #[test]
    fn shared_intermediates_and_rejected_specs_stay_unfused() {
        let mut g = graph();
        assert_eq!(fuse_layernorm(&mut g.clone(), &|_| false), 0);
        // Make the first pattern's variance a graph output: it cannot be absorbed.
        let var = g.nodes[3].outputs[0].unwrap();
        g.outputs.push(var);
        assert_eq!(fuse_layernorm(&mut g, &|_| true), 1);
        assert_eq!(op_names(&g).iter().filter(|n| *n == "LayerNormalization").count(), 1);
        assert_eq!(op_names(&g)[..3], ["ReduceMean", "Sub", "Pow"]);
    }
}
