//! GELU pattern fusion: the erf form exporters write, `x·(1 + erf(x / √2))·0.5` as
//! Div → Erf → Add(1) → Mul(x) → Mul(0.5) (either operand order, and with the 0.5 applied to
//! `x` first), becomes one `Gelu` node that epilogue fusion can then fold into a MatMul.

use super::{const_input, kernel_op, producers, use_counts};
use crate::graph::{Graph, Node, NodeOp, ValueId};
use std::collections::HashMap;
use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp};
use suanli_kernels::Op;

/// Rewrite every GELU pattern. Returns how many were rewritten.
pub fn fuse_gelu(g: &mut Graph) -> usize {
    let uses = use_counts(g);
    let producer = producers(g);
    let mut remove = vec![false; g.nodes.len()];
    let mut replace: HashMap<usize, Node> = HashMap::new();
    for i in 0..g.nodes.len() {
        let Some((x, absorbed)) = matches(g, i, &producer, &uses) else {
            continue;
        };
        if absorbed.iter().any(|&j| remove[j] || replace.contains_key(&j)) {
            continue;
        }
        for &j in &absorbed {
            remove[j] = true;
        }
        let n = &g.nodes[i];
        replace.insert(
            i,
            Node {
                name: format!("{}.gelu", n.name),
                op: NodeOp::Kernel(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Gelu { tanh: false }))),
                inputs: vec![Some(x)],
                outputs: n.outputs.clone(),
                formal_inputs: 1,
            },
        );
    }
    let count = replace.len();
    super::splice(g, &remove, replace);
    count
}

fn binary(g: &Graph, i: usize, op: BinaryOp) -> Option<(ValueId, ValueId)> {
    match kernel_op(g, i)? {
        Op::Elementwise(ElementwiseOp::Binary(b)) if *b == op => match g.nodes[i].inputs.as_slice() {
            [Some(a), Some(b)] => Some((*a, *b)),
            _ => None,
        },
        _ => None,
    }
}

fn scalar(g: &Graph, v: ValueId) -> Option<f64> {
    let t = const_input(g, Some(v))?;
    let vals = t.to_f64_vec().ok()?;
    (vals.len() == 1).then(|| vals[0])
}

fn near(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-4 * b.abs())
}

/// If node `i` ends a GELU pattern: its input `x` and the other nodes of the pattern.
fn matches(g: &Graph, i: usize, producer: &[Option<usize>], uses: &[usize]) -> Option<(ValueId, Vec<usize>)> {
    let (p, q) = binary(g, i, BinaryOp::Mul)?;
    let inner = |v: ValueId| producer[v.0].filter(|_| uses[v.0] == 1);
    let half = |v: ValueId| near(scalar(g, v), 0.5);
    // Mul(Mul(x, A), 0.5): one operand is 0.5, the other multiplies x by the erf part.
    for (m_v, h) in [(p, q), (q, p)] {
        if !half(h) {
            continue;
        }
        let m = inner(m_v)?;
        let (s, t) = binary(g, m, BinaryOp::Mul)?;
        for (x, a) in [(s, t), (t, s)] {
            if let Some(rest) = erf_part(g, a, x, &inner) {
                return Some((x, [vec![m], rest].concat()));
            }
        }
        return None;
    }
    // Mul(Mul(x, 0.5), A).
    for (h_v, a) in [(p, q), (q, p)] {
        let Some(h) = inner(h_v) else { continue };
        let Some((s, t)) = binary(g, h, BinaryOp::Mul) else {
            continue;
        };
        let x = if half(t) {
            s
        } else if half(s) {
            t
        } else {
            continue;
        };
        if let Some(rest) = erf_part(g, a, x, &inner) {
            return Some((x, [vec![h], rest].concat()));
        }
    }
    None
}

/// `a` = Add(Erf(Div(x, √2)), 1) (or Mul(x, 1/√2)): the nodes making it.
fn erf_part(g: &Graph, a: ValueId, x: ValueId, inner: &dyn Fn(ValueId) -> Option<usize>) -> Option<Vec<usize>> {
    let add = inner(a)?;
    let (u, w) = binary(g, add, BinaryOp::Add)?;
    let e_v = if near(scalar(g, w), 1.0) {
        u
    } else if near(scalar(g, u), 1.0) {
        w
    } else {
        return None;
    };
    let e = inner(e_v)?;
    if !matches!(kernel_op(g, e)?, Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Erf))) {
        return None;
    }
    let d_v = g.nodes[e].inputs.first().copied().flatten()?;
    let d = inner(d_v)?;
    let ok = match (binary(g, d, BinaryOp::Div), binary(g, d, BinaryOp::Mul)) {
        (Some((xx, c)), _) => xx == x && near(scalar(g, c), std::f64::consts::SQRT_2),
        (_, Some((s, t))) => {
            (s == x && near(scalar(g, t), std::f64::consts::FRAC_1_SQRT_2))
                || (t == x && near(scalar(g, s), std::f64::consts::FRAC_1_SQRT_2))
        }
        _ => false,
    };
    ok.then(|| vec![add, e, d])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::builder::GraphBuilder;
    use crate::passes::testing::{assert_same_outputs, op_names, rnd};
    use suanli_kernels::{DType, Dim, Tensor};

    fn bin(op: BinaryOp) -> Op {
        Op::Elementwise(ElementwiseOp::Binary(op))
    }

    /// Both exported shapes of GELU side by side, plus an Erf chain with the wrong constant.
    fn graph() -> Graph {
        let mut b = GraphBuilder::new();
        let x = b.input("x", DType::F32, vec![Dim::Known(4), Dim::Known(6)]);
        let c = |b: &mut GraphBuilder, name: &str, v: f32| b.constant(name, Tensor::scalar(v));
        let sqrt2 = c(&mut b, "sqrt2", std::f32::consts::SQRT_2);
        let one = c(&mut b, "one", 1.0);
        let half = c(&mut b, "half", 0.5);
        let three = c(&mut b, "three", 3.0);
        let erf_part = |b: &mut GraphBuilder, d: ValueId| {
            let dv = b.op(bin(BinaryOp::Div), &[x, d]);
            let e = b.op(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Erf)), &[dv]);
            b.op(bin(BinaryOp::Add), &[one, e])
        };
        let a = erf_part(&mut b, sqrt2);
        let m = b.op(bin(BinaryOp::Mul), &[x, a]);
        let y1 = b.op(bin(BinaryOp::Mul), &[m, half]);
        let a2 = erf_part(&mut b, sqrt2);
        let h = b.op(bin(BinaryOp::Mul), &[half, x]);
        let y2 = b.op(bin(BinaryOp::Mul), &[a2, h]);
        let a3 = erf_part(&mut b, three);
        let m3 = b.op(bin(BinaryOp::Mul), &[x, a3]);
        let y3 = b.op(bin(BinaryOp::Mul), &[m3, half]);
        b.output(y1, "y1");
        b.output(y2, "y2");
        b.output(y3, "y3");
        b.build().unwrap()
    }

    #[test]
    fn erf_gelu_patterns_become_gelu_nodes_with_the_same_outputs() {
        let before = graph();
        assert_eq!(before.nodes.len(), 15);
        let mut after = before.clone();
        assert_eq!(fuse_gelu(&mut after), 2);
        let names = op_names(&after);
        assert_eq!(names.iter().filter(|n| *n == "Gelu").count(), 2);
        // The chain dividing by 3 is not a GELU and stays as it was.
        assert_eq!(names.len(), 2 + 5);
        assert_same_outputs(before, after, &[("x", rnd(&[4, 6], 3, -2.0))]);
    }
}
