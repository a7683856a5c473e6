//! Elementwise-chain fusion: connected elementwise nodes whose intermediate values are read
//! only inside the chain become one `FusedElementwise` node holding an [`ElementwiseProgram`]
//! (the IR the CPU evaluates in one pass and the GPU code generators render).
//!
//! A node joins the chain of an input's producer when that value has no other reader, and
//! every node of a chain has the chain's output shape (so no value is recomputed per
//! broadcast element). The fused node takes the place of the chain's last node; only chains
//! whose spec every device of the session accepts are fused.

use super::{kernel_op, producers, use_counts};
use crate::graph::{Graph, Node, NodeOp, ValueId, ValueType};
use std::collections::HashMap;
use suanli_kernels::codegen::elementwise::{ElementwiseProgram, Inst};
use suanli_kernels::ops::fused::{FastProgram, FusedOp};
use suanli_kernels::{DType, KernelSpec, Op, TensorType};

/// Fuse chains; `accept` says whether the session's devices all run a fused spec. Returns how
/// many nodes were absorbed into fused nodes.
pub fn fuse_elementwise(g: &mut Graph, accept: &dyn Fn(&KernelSpec) -> bool) -> usize {
    let uses = use_counts(g);
    let prod = producers(g);
    // chain[i] = index of the chain (its last node so far) node i belongs to.
    let mut chain: Vec<Option<usize>> = vec![None; g.nodes.len()];
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..g.nodes.len() {
        let Some(out_ty) = fusable(g, i) else { continue };
        let mut mine = vec![i];
        for v in g.nodes[i].inputs.iter().flatten() {
            let Some(p) = prod[v.0] else { continue };
            if uses[v.0] != 1 || fusable(g, p).as_ref() != Some(&out_ty) {
                continue;
            }
            if let Some(c) = chain[p] {
                if let Some(ms) = members.remove(&c) {
                    mine.extend(ms);
                }
            }
        }
        mine.sort_unstable();
        mine.dedup();
        for &m in &mine {
            chain[m] = Some(i);
        }
        members.insert(i, mine);
    }
    let mut replace: HashMap<usize, Node> = HashMap::new();
    let mut remove = vec![false; g.nodes.len()];
    let mut absorbed = 0;
    for (last, ms) in members {
        if ms.len() < 2 {
            continue;
        }
        let Some((node, spec)) = build(g, &ms) else { continue };
        if !accept(&spec) {
            continue;
        }
        for &m in &ms {
            remove[m] = m != last;
        }
        absorbed += ms.len() - 1;
        replace.insert(last, node);
    }
    super::splice(g, &remove, replace);
    absorbed
}

/// A small fused spec (`relu(a + b)` on `f32[8]`) to ask devices whether they run fused
/// elementwise programs at all.
pub fn probe_spec() -> KernelSpec {
    use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp};
    let ty = TensorType::known(DType::F32, &[8]);
    let inst = |op, args: Vec<Option<usize>>| Inst {
        op,
        args,
        dtype: DType::F32,
    };
    let program = ElementwiseProgram {
        inputs: vec![DType::F32; 2],
        insts: vec![
            inst(ElementwiseOp::Binary(BinaryOp::Add), vec![Some(0), Some(1)]),
            inst(ElementwiseOp::Unary(UnaryOp::Relu), vec![Some(2)]),
        ],
        outputs: vec![3],
    };
    KernelSpec {
        op: Op::Fused(FusedOp::Elementwise(program)),
        inputs: vec![Some(ty.clone()), Some(ty.clone())],
        outputs: vec![ty],
    }
}

/// The output type of node `i` if it may join a chain: a single-output f32 elementwise op
/// with a fast CPU form and a fully known output shape.
fn fusable(g: &Graph, i: usize) -> Option<TensorType> {
    let Some(Op::Elementwise(op)) = kernel_op(g, i) else {
        return None;
    };
    let n = &g.nodes[i];
    if n.outputs.len() != 1 {
        return None;
    }
    let out = n.outputs[0]?;
    let ty = g.values[out.0].ty.tensor()?.clone();
    let shape = ty.shape.as_ref()?;
    if ty.dtype != DType::F32 || shape.iter().any(|d| d.known().is_none()) {
        return None;
    }
    let ins: Vec<Option<DType>> = n
        .inputs
        .iter()
        .map(|v| v.and_then(|v| g.values[v.0].ty.tensor().map(|t| t.dtype)))
        .collect();
    if ins.iter().any(|d| *d != Some(DType::F32) && d.is_some())
        || n.inputs.iter().flatten().count() != ins.iter().flatten().count()
    {
        return None;
    }
    FastProgram::new(&ElementwiseProgram::single(op, &ins, DType::F32))?;
    Some(ty)
}

/// The fused node for chain `ms` (node indices in order) and its kernel spec.
fn build(g: &Graph, ms: &[usize]) -> Option<(Node, KernelSpec)> {
    let mut inputs: Vec<ValueId> = Vec::new();
    let mut reg: HashMap<ValueId, usize> = HashMap::new();
    let inside: Vec<ValueId> = ms.iter().filter_map(|&m| g.nodes[m].outputs[0]).collect();
    for &m in ms {
        for v in g.nodes[m].inputs.iter().flatten() {
            if !inside.contains(v) && !reg.contains_key(v) {
                reg.insert(*v, inputs.len());
                inputs.push(*v);
            }
        }
    }
    let base = inputs.len();
    let mut insts = Vec::with_capacity(ms.len());
    for (k, &m) in ms.iter().enumerate() {
        let Some(Op::Elementwise(op)) = kernel_op(g, m) else {
            return None;
        };
        let args = g.nodes[m]
            .inputs
            .iter()
            .map(|v| v.and_then(|v| reg.get(&v).copied()))
            .collect();
        insts.push(Inst {
            op: op.clone(),
            args,
            dtype: DType::F32,
        });
        reg.insert(g.nodes[m].outputs[0]?, base + k);
    }
    let program = ElementwiseProgram {
        inputs: vec![DType::F32; base],
        insts,
        outputs: vec![base + ms.len() - 1],
    };
    let last = &g.nodes[*ms.last()?];
    let out_ty = g.values[last.outputs[0]?.0].ty.tensor()?.clone();
    let in_tys: Vec<Option<TensorType>> = inputs
        .iter()
        .map(|v| match &g.values[v.0].ty {
            ValueType::Tensor(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    let op = Op::Fused(FusedOp::Elementwise(program));
    let spec = KernelSpec {
        op: op.clone(),
        inputs: in_tys,
        outputs: vec![out_ty],
    };
    let names: Vec<&str> = ms.iter().map(|&m| g.nodes[m].name.as_str()).collect();
    let node = Node {
        name: format!("fused({})", names.join("+")),
        op: NodeOp::Kernel(op),
        inputs: inputs.into_iter().map(Some).collect(),
        outputs: last.outputs.clone(),
        formal_inputs: base,
    };
    Some((node, spec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::builder::GraphBuilder;
    use crate::passes::testing::{assert_same_outputs, op_names, rnd};
    use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp};
    use suanli_kernels::Dim;

    fn ew(op: ElementwiseOp) -> Op {
        Op::Elementwise(op)
    }

    /// y = relu(x·s + t) + sigmoid(x) — one chain; z = exp(relu-out) reads an intermediate.
    fn graph(read_inside: bool) -> Graph {
        let mut b = GraphBuilder::new();
        let x = b.input("x", DType::F32, vec![Dim::Known(2), Dim::Known(3), Dim::Known(5)]);
        let s = b.constant("s", rnd(&[3, 1], 1, -1.0));
        let t = b.constant("t", rnd(&[5], 2, -1.0));
        let m = b.op(ew(ElementwiseOp::Binary(BinaryOp::Mul)), &[x, s]);
        let a = b.op(ew(ElementwiseOp::Binary(BinaryOp::Add)), &[m, t]);
        let r = b.op(ew(ElementwiseOp::Unary(UnaryOp::Relu)), &[a]);
        let sg = b.op(ew(ElementwiseOp::Unary(UnaryOp::Sigmoid)), &[x]);
        let y = b.op(ew(ElementwiseOp::Binary(BinaryOp::Add)), &[r, sg]);
        b.output(y, "y");
        if read_inside {
            let z = b.op(ew(ElementwiseOp::Unary(UnaryOp::Exp)), &[r]);
            b.output(z, "z");
        }
        b.build().unwrap()
    }

    #[test]
    fn a_chain_becomes_one_fused_node_with_the_same_outputs() {
        let before = graph(false);
        assert_eq!(op_names(&before), ["Mul", "Add", "Relu", "Sigmoid", "Add"]);
        let mut after = before.clone();
        assert_eq!(fuse_elementwise(&mut after, &|_| true), 4);
        assert_eq!(op_names(&after), ["FusedElementwise"]);
        assert_same_outputs(before, after, &[("x", rnd(&[2, 3, 5], 3, -2.0))]);
    }

    #[test]
    fn a_value_read_outside_the_chain_ends_it() {
        let before = graph(true);
        let mut after = before.clone();
        fuse_elementwise(&mut after, &|_| true);
        // relu's output is read by Exp too: Mul+Add+Relu fuse, then Sigmoid+Add, then Exp.
        assert_eq!(op_names(&after), ["FusedElementwise", "FusedElementwise", "Exp"]);
        assert_same_outputs(before, after, &[("x", rnd(&[2, 3, 5], 4, -2.0))]);
    }

    #[test]
    fn rejected_specs_are_not_fused() {
        let mut g = graph(false);
        assert_eq!(fuse_elementwise(&mut g, &|_| false), 0);
        assert_eq!(op_names(&g), ["Mul", "Add", "Relu", "Sigmoid", "Add"]);
    }
}
