//! BatchNormalization (inference) that no Conv absorbed becomes `x·s + t` with per-channel
//! constants `s = scale / sqrt(var + epsilon)`, `t = beta − mean·s` shaped `[C, 1, …]`, so
//! that elementwise fusion can merge it with the activation after it (DenseNet's BN → ReLU).

use super::{add_constant, batch_norm_affine, const_input, inference_batch_norm, use_counts};
use crate::graph::{Graph, Node, NodeOp, ValueType};
use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp};
use suanli_kernels::{DType, Op, Tensor};

/// Rewrite every eligible f32 BatchNormalization. Returns how many were rewritten.
pub fn batch_norm_to_affine(g: &mut Graph) -> usize {
    let uses = use_counts(g);
    let nodes = std::mem::take(&mut g.nodes);
    let mut out = Vec::with_capacity(nodes.len());
    let mut rewritten = 0;
    for n in nodes {
        match rewrite(g, &n, &uses) {
            Some(pair) => {
                out.extend(pair);
                rewritten += 1;
            }
            None => out.push(n),
        }
    }
    g.nodes = out;
    rewritten
}

fn rewrite(g: &mut Graph, n: &Node, uses: &[usize]) -> Option<[Node; 2]> {
    let eps = inference_batch_norm(n, uses)?;
    let (x, y) = (n.inputs[0]?, n.outputs[0]?);
    let xt = g.values[x.0].ty.tensor()?.clone();
    let rank = xt.rank()?;
    if xt.dtype != DType::F32 || rank < 2 {
        return None;
    }
    let stats: Vec<Vec<f64>> = (1..5)
        .map(|k| const_input(g, n.inputs[k]).and_then(|t| t.to_f64_vec().ok()))
        .collect::<Option<_>>()?;
    let c = stats[0].len();
    if stats.iter().any(|s| s.len() != c) || xt.shape.as_ref()?[1].known().is_some_and(|d| d != c) {
        return None;
    }
    let (s, t) = batch_norm_affine(&stats, eps);
    let to_f32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
    let (s, t) = (to_f32(s), to_f32(t));
    let mut shape = vec![c];
    shape.resize(rank - 1, 1);
    let name = n.name.clone();
    let sv = add_constant(g, format!("{name}.scale"), Tensor::from_vec(shape.clone(), s).ok()?);
    let tv = add_constant(g, format!("{name}.shift"), Tensor::from_vec(shape, t).ok()?);
    let mid = g.add_value(format!("{name}.scaled"), ValueType::Tensor(xt));
    let bin = |op: BinaryOp| NodeOp::Kernel(Op::Elementwise(ElementwiseOp::Binary(op)));
    Some([
        Node {
            name: format!("{name}.mul"),
            op: bin(BinaryOp::Mul),
            inputs: vec![Some(x), Some(sv)],
            outputs: vec![Some(mid)],
            formal_inputs: 2,
        },
        Node {
            name: format!("{name}.add"),
            op: bin(BinaryOp::Add),
            inputs: vec![Some(mid), Some(tv)],
            outputs: vec![Some(y)],
            formal_inputs: 2,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::builder::GraphBuilder;
    use crate::passes::testing::{assert_same_outputs, batch_norm, op_names, rnd};
    use suanli_kernels::ops::elementwise::UnaryOp;
    use suanli_kernels::Dim;

    #[test]
    fn batch_norm_becomes_multiply_add_with_the_same_outputs() {
        let mut b = GraphBuilder::new();
        let x = b.input(
            "x",
            DType::F32,
            vec![Dim::Known(1), Dim::Known(4), Dim::Known(3), Dim::Known(5)],
        );
        let y = batch_norm(&mut b, x, 4, 1);
        let r = b.op(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Relu)), &[y]);
        b.output(r, "r");
        let before = b.build().unwrap();
        assert_eq!(op_names(&before), ["BatchNormalization", "Relu"]);
        let mut after = before.clone();
        assert_eq!(batch_norm_to_affine(&mut after), 1);
        assert_eq!(op_names(&after), ["Mul", "Add", "Relu"]);
        assert_same_outputs(before, after, &[("x", rnd(&[1, 4, 3, 5], 9, -2.0))]);
    }
}
