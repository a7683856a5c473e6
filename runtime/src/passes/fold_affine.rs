//! Affine-chain folding. A run of `Mul` / `Add` / `Sub` / `Div` nodes that each combine a value
//! with a constant (and do not broadcast it to a larger shape) is one affine map `x·s + t`; the
//! chain becomes a single `Mul` and `Add` with the composed constants (computed in f64 and
//! rounded once). When the chain starts at a Conv with constant weights whose output nothing
//! else reads, and `s`, `t` are per output channel (or scalars), the map goes into the Conv's
//! weights and bias instead: `W'[m] = W[m]·s[m]`, `B'[m] = B[m]·s[m] + t[m]`.
//!
//! DenseNet exports write every BatchNormalization as `BN → Mul → Add`: after BatchNorm folding
//! the Conv is followed by a per-channel multiply-add that this pass absorbs, so its ReLU can
//! become a Conv epilogue; the BN → Mul → Add before each Conv becomes one multiply-add.

use super::{add_constant, const_input, kernel_op, producers, static_shape, use_counts};
use crate::graph::{Graph, Node, NodeOp, ValueId, ValueType};
use std::collections::HashMap;
use suanli_kernels::ops::conv::ConvOp;
use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp};
use suanli_kernels::{DType, Op, Tensor};

/// `x·s + t` with `s`, `t` laid out over `shape` (same rank as `x`, each dim 1 or `x`'s).
#[derive(Clone, Debug)]
struct Affine {
    shape: Vec<usize>,
    s: Vec<f64>,
    t: Vec<f64>,
}

impl Affine {
    fn identity(rank: usize) -> Affine {
        Affine {
            shape: vec![1; rank],
            s: vec![1.0],
            t: vec![0.0],
        }
    }

    /// `self` followed by `y ↦ y·a + b`, where `a` and `b` are laid out over `shape`.
    fn then(&self, shape: &[usize], a: &[f64], b: &[f64]) -> Affine {
        let out: Vec<usize> = self.shape.iter().zip(shape).map(|(&p, &q)| p.max(q)).collect();
        let n: usize = out.iter().product();
        let (mut s, mut t) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let (j, k) = (index_in(i, &out, &self.shape), index_in(i, &out, shape));
            s.push(self.s[j] * a[k]);
            t.push(self.t[j] * a[k] + b[k]);
        }
        Affine { shape: out, s, t }
    }
}

/// The flat index in `shape` (dims 1 or `out`'s) of flat index `i` of `out`.
fn index_in(mut i: usize, out: &[usize], shape: &[usize]) -> usize {
    let (mut idx, mut stride) = (0, 1);
    for d in (0..out.len()).rev() {
        let c = i % out[d];
        i /= out[d];
        if shape[d] != 1 {
            idx += c * stride;
        }
        stride *= shape[d];
    }
    idx
}

/// One affine step: node `i` maps its value input `x` through `y·a + b` (over `shape`).
struct Step {
    x: ValueId,
    shape: Vec<usize>,
    a: Vec<f64>,
    b: Vec<f64>,
}

/// Node `i` as an affine step, when it is an f32 Mul / Add / Sub / Div of a value and a
/// constant that does not grow the value's static shape.
fn step(g: &Graph, i: usize) -> Option<Step> {
    let Op::Elementwise(ElementwiseOp::Binary(op)) = kernel_op(g, i)? else {
        return None;
    };
    let [Some(l), Some(r)] = g.nodes[i].inputs[..] else {
        return None;
    };
    let (lc, rc) = (const_input(g, Some(l)), const_input(g, Some(r)));
    let (x, c, const_left) = match (lc, rc) {
        (None, Some(c)) => (l, c, false),
        (Some(c), None) => (r, c, true),
        _ => return None,
    };
    let xs = static_shape(g, x)?;
    let xt = g.values[x.0].ty.tensor()?;
    if xt.dtype != DType::F32 || c.dtype() != DType::F32 || c.shape().len() > xs.len() {
        return None;
    }
    // The constant right-aligned to x's rank; each dim must be 1 or x's.
    let mut shape = vec![1; xs.len() - c.shape().len()];
    shape.extend_from_slice(c.shape());
    if shape.iter().zip(&xs).any(|(&p, &q)| p != 1 && p != q) {
        return None;
    }
    let v = c.to_f64_vec().ok()?;
    let ones = vec![1.0; v.len()];
    let zeros = vec![0.0; v.len()];
    let (a, b) = match (op, const_left) {
        (BinaryOp::Mul, _) => (v, zeros),
        (BinaryOp::Add, _) => (ones, v),
        (BinaryOp::Sub, false) => (ones, v.iter().map(|c| -c).collect()),
        (BinaryOp::Sub, true) => (vec![-1.0; v.len()], v),
        (BinaryOp::Div, false) if v.iter().all(|c| *c != 0.0) => (v.iter().map(|c| 1.0 / c).collect(), zeros),
        _ => return None,
    };
    Some(Step { x, shape, a, b })
}

/// A finished chain: nodes `nodes` (in order) compute `affine` of `x`; the last one's output is
/// the chain's.
struct Chain {
    x: ValueId,
    nodes: Vec<usize>,
    affine: Affine,
}

/// Fold every affine chain of two or more steps into one multiply-add, and chains after a Conv
/// into the Conv. Returns how many nodes were removed.
pub fn fold_affine_chains(g: &mut Graph) -> usize {
    let uses = use_counts(g);
    let prod = producers(g);
    // Grow chains in topological order: a step extends the chain ending at its input when
    // nothing else reads that input.
    let mut open: HashMap<usize, Chain> = HashMap::new(); // keyed by the last node
    for i in 0..g.nodes.len() {
        let Some(st) = step(g, i) else { continue };
        let prev = prod[st.x.0].filter(|&p| uses[st.x.0] == 1 && open.contains_key(&p));
        let mut chain = match prev.and_then(|p| open.remove(&p)) {
            Some(c) => c,
            None => Chain {
                x: st.x,
                nodes: Vec::new(),
                affine: Affine::identity(st.shape.len()),
            },
        };
        chain.affine = chain.affine.then(&st.shape, &st.a, &st.b);
        chain.nodes.push(i);
        open.insert(i, chain);
    }
    let mut chains: Vec<Chain> = open.into_values().collect();
    chains.sort_by_key(|c| c.nodes[0]);
    let mut remove = vec![false; g.nodes.len()];
    let mut replace: HashMap<usize, Node> = HashMap::new();
    let mut removed = 0;
    for chain in chains {
        let last = *chain.nodes.last().unwrap_or(&0);
        let Some(y) = g.nodes[last].outputs.first().copied().flatten() else {
            continue;
        };
        if let Some(ci) = prod[chain.x.0].filter(|&p| uses[chain.x.0] == 1 && !remove[p]) {
            if let Some((w, b)) = fold_into_conv(g, ci, &chain.affine) {
                let name = g.nodes[ci].name.clone();
                let wv = add_constant(g, format!("{name}.W_affine"), w);
                let bv = add_constant(g, format!("{name}.B_affine"), b);
                let conv = &mut g.nodes[ci];
                conv.inputs.truncate(1);
                conv.inputs.extend([Some(wv), Some(bv)]);
                conv.formal_inputs = 3;
                conv.outputs = vec![Some(y)];
                for &n in &chain.nodes {
                    remove[n] = true;
                }
                removed += chain.nodes.len();
                continue;
            }
        }
        if chain.nodes.len() < 2 {
            continue;
        }
        let Some(pair) = multiply_add(g, &chain, y) else {
            continue;
        };
        // The pair takes the places of the chain's first two nodes (their inputs are ready
        // there); the rest of the chain goes.
        for (k, &n) in chain.nodes.iter().enumerate() {
            if k >= pair.len() {
                remove[n] = true;
                removed += 1;
            }
        }
        let keep = pair.len();
        for (node, &n) in pair.into_iter().zip(&chain.nodes[..keep]) {
            replace.insert(n, node);
        }
    }
    super::splice(g, &remove, replace);
    removed
}

/// The chain as a Mul then an Add (either left out when it is the identity), writing `y`.
fn multiply_add(g: &mut Graph, chain: &Chain, y: ValueId) -> Option<Vec<Node>> {
    let a = &chain.affine;
    let to_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let xt = g.values[chain.x.0].ty.tensor()?.clone();
    let name = g.nodes[chain.nodes[0]].name.clone();
    let bin = |op: BinaryOp| NodeOp::Kernel(Op::Elementwise(ElementwiseOp::Binary(op)));
    let has_s = a.s.iter().any(|&s| s as f32 != 1.0);
    let has_t = a.t.iter().any(|&t| t as f32 != 0.0);
    let mut nodes = Vec::new();
    let mut cur = chain.x;
    if has_s || !has_t {
        let sv = add_constant(
            g,
            format!("{name}.scale"),
            Tensor::from_vec(a.shape.clone(), to_f32(&a.s)).ok()?,
        );
        let out = if has_t {
            g.add_value(format!("{name}.scaled"), ValueType::Tensor(xt))
        } else {
            y
        };
        nodes.push(Node {
            name: format!("{name}.mul"),
            op: bin(BinaryOp::Mul),
            inputs: vec![Some(cur), Some(sv)],
            outputs: vec![Some(out)],
            formal_inputs: 2,
        });
        cur = out;
    }
    if has_t {
        let tv = add_constant(
            g,
            format!("{name}.shift"),
            Tensor::from_vec(a.shape.clone(), to_f32(&a.t)).ok()?,
        );
        nodes.push(Node {
            name: format!("{name}.add"),
            op: bin(BinaryOp::Add),
            inputs: vec![Some(cur), Some(tv)],
            outputs: vec![Some(y)],
            formal_inputs: 2,
        });
    }
    Some(nodes)
}

/// The weights and bias of Conv node `ci` with `affine` applied to its output, when the Conv
/// has constant f32 weights (and bias) and the map is per output channel.
fn fold_into_conv(g: &Graph, ci: usize, affine: &Affine) -> Option<(Tensor, Tensor)> {
    if !matches!(kernel_op(g, ci), Some(Op::Conv(ConvOp::Conv { .. }))) {
        return None;
    }
    let conv = &g.nodes[ci];
    let w = const_input(g, conv.inputs.get(1).copied().flatten())?;
    let bias = conv.inputs.get(2).copied().flatten();
    let b = match bias {
        Some(_) => Some(const_input(g, bias)?),
        None => None,
    };
    let m = *w.shape().first()?;
    if w.dtype() != DType::F32 || m == 0 || b.is_some_and(|b| b.len() != m || b.dtype() != DType::F32) {
        return None;
    }
    // Per channel: every dim 1 except (possibly) dim 1, which is m.
    let per_channel = affine
        .shape
        .iter()
        .enumerate()
        .all(|(d, &e)| e == 1 || (d == 1 && e == m));
    if !per_channel || affine.shape.len() < 2 {
        return None;
    }
    let at = |v: &[f64], c: usize| if v.len() == 1 { v[0] } else { v[c] };
    let per = w.len() / m;
    let wv: Vec<f64> = w
        .to_f64_vec()
        .ok()?
        .into_iter()
        .enumerate()
        .map(|(i, x)| x * at(&affine.s, i / per))
        .collect();
    let b0 = match b {
        Some(b) => b.to_f64_vec().ok()?,
        None => vec![0.0; m],
    };
    let bv: Vec<f64> = (0..m).map(|c| b0[c] * at(&affine.s, c) + at(&affine.t, c)).collect();
    let w2 = Tensor::from_vec(w.shape().to_vec(), wv).ok()?.cast(DType::F32).ok()?;
    let b2 = Tensor::from_vec(vec![m], bv).ok()?.cast(DType::F32).ok()?;
    Some((w2, b2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::builder::GraphBuilder;
    use crate::passes::testing::{assert_same_outputs, conv_op, op_names, rnd};
    use suanli_kernels::ops::elementwise::UnaryOp;
    use suanli_kernels::Dim;

    fn bin(op: BinaryOp) -> Op {
        Op::Elementwise(ElementwiseOp::Binary(op))
    }

    fn input(b: &mut GraphBuilder, shape: &[usize]) -> ValueId {
        b.input("x", DType::F32, shape.iter().map(|&d| Dim::Known(d)).collect())
    }

    #[test]
    fn conv_then_per_channel_multiply_add_folds_into_the_conv() {
        let mut b = GraphBuilder::new();
        let x = input(&mut b, &[1, 3, 6, 6]);
        let w = b.constant("w", rnd(&[4, 3, 3, 3], 1, -0.5));
        let c = b.op(conv_op(1), &[x, w]);
        let s = b.constant("s", rnd(&[4, 1, 1], 2, 0.5));
        let t = b.constant("t", rnd(&[1, 4, 1, 1], 3, -0.5));
        let k = b.constant("k", rnd(&[1], 4, 1.0));
        let y = b.op(bin(BinaryOp::Mul), &[c, s]);
        let y = b.op(bin(BinaryOp::Add), &[t, y]);
        let y = b.op(bin(BinaryOp::Div), &[y, k]);
        let r = b.op(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Relu)), &[y]);
        b.output(r, "r");
        let before = b.build().unwrap();
        assert_eq!(op_names(&before), ["Conv", "Mul", "Add", "Div", "Relu"]);
        let mut after = before.clone();
        assert_eq!(fold_affine_chains(&mut after), 3);
        assert_eq!(op_names(&after), ["Conv", "Relu"]);
        assert_same_outputs(before, after, &[("x", rnd(&[1, 3, 6, 6], 9, -1.0))]);
    }

    #[test]
    fn a_chain_without_a_conv_becomes_one_multiply_add() {
        let mut b = GraphBuilder::new();
        let x = input(&mut b, &[2, 4, 3, 5]);
        let s1 = b.constant("s1", rnd(&[4, 1, 1], 1, 0.5));
        let t1 = b.constant("t1", rnd(&[4, 1, 1], 2, -0.5));
        let s2 = b.constant("s2", rnd(&[5], 3, 0.5));
        let t2 = b.constant("t2", rnd(&[1], 4, -0.5));
        let y = b.op(bin(BinaryOp::Mul), &[x, s1]);
        let y = b.op(bin(BinaryOp::Add), &[y, t1]);
        let y = b.op(bin(BinaryOp::Mul), &[s2, y]);
        let y = b.op(bin(BinaryOp::Sub), &[t2, y]);
        b.output(y, "y");
        let before = b.build().unwrap();
        let mut after = before.clone();
        assert_eq!(fold_affine_chains(&mut after), 2);
        assert_eq!(op_names(&after), ["Mul", "Add"]);
        // The composed constants cover both broadcast axes.
        let consts: Vec<Vec<usize>> = after
            .nodes
            .iter()
            .map(|n| {
                let c = n.inputs[1].unwrap();
                after.constants[&c].shape().to_vec()
            })
            .collect();
        assert_eq!(consts, [vec![1, 4, 1, 5], vec![1, 4, 1, 5]]);
        assert_same_outputs(before, after, &[("x", rnd(&[2, 4, 3, 5], 9, -1.0))]);
    }

    #[test]
    fn chains_stop_at_values_read_twice_broadcasts_and_non_channel_conv_maps() {
        let mut b = GraphBuilder::new();
        let x = input(&mut b, &[1, 3, 6, 6]);
        let w = b.constant("w", rnd(&[4, 3, 3, 3], 1, -0.5));
        let c = b.op(conv_op(1), &[x, w]);
        // Per-column scale: not per channel, so it cannot go into the Conv.
        let s = b.constant("s", rnd(&[6], 2, 0.5));
        let y = b.op(bin(BinaryOp::Mul), &[c, s]);
        let t = b.constant("t", rnd(&[1], 3, 0.5));
        let y = b.op(bin(BinaryOp::Add), &[y, t]);
        let z = b.op(bin(BinaryOp::Mul), &[y, t]);
        // `z` is read twice: the chains after it start afresh.
        let z1 = b.op(bin(BinaryOp::Mul), &[z, t]);
        let z2 = b.op(bin(BinaryOp::Add), &[z, t]);
        // This one broadcasts x up to [2, 4, 6, 6]: not a step.
        let big = b.constant("big", rnd(&[2, 4, 6, 6], 4, 0.5));
        let z3 = b.op(bin(BinaryOp::Mul), &[z2, big]);
        b.output(z1, "z1");
        b.output(z3, "z3");
        let before = b.build().unwrap();
        let mut after = before.clone();
        assert_eq!(fold_affine_chains(&mut after), 1);
        assert_eq!(op_names(&after), ["Conv", "Mul", "Add", "Mul", "Add", "Mul"]);
        assert_same_outputs(before, after, &[("x", rnd(&[1, 3, 6, 6], 9, -1.0))]);
    }
}
