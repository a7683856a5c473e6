//! Static shape and dtype inference over a graph.

use super::{Graph, NodeOp, SeqOp, ValueType};
use crate::error::{Error, Result};
use suanli_kernels::{InferInput, TensorType};

/// Infer every value's type from the graph inputs' types (which may carry symbolic dims).
/// Constants give both their type and their value to the ops that read them.
/// Returns one type per value; values that cannot be inferred are `ValueType::Unknown`.
pub fn infer_types(g: &Graph, input_types: &[ValueType]) -> Result<Vec<ValueType>> {
    let mut types: Vec<ValueType> = g.values.iter().map(|v| v.ty.clone()).collect();
    for (i, &v) in g.inputs.iter().enumerate() {
        if let Some(t) = input_types.get(i) {
            types[v.0] = t.clone();
        }
    }
    for (&v, t) in &g.constants {
        types[v.0] = ValueType::Tensor(TensorType::known(t.dtype(), t.shape()));
    }
    for node in &g.nodes {
        let outs: Vec<ValueType> = match &node.op {
            NodeOp::Kernel(op) => {
                let ins: Vec<InferInput> = node
                    .inputs
                    .iter()
                    .map(|v| match v {
                        None => InferInput {
                            ty: None,
                            value: None,
                        },
                        Some(v) => InferInput {
                            ty: types[v.0].tensor(),
                            value: g.constants.get(v).map(|t| &**t),
                        },
                    })
                    .collect();
                // An input whose type is unknown (e.g. produced by control flow) makes the
                // outputs unknown rather than failing.
                if node
                    .inputs
                    .iter()
                    .zip(&ins)
                    .any(|(v, i)| v.is_some() && i.ty.is_none())
                {
                    node.outputs.iter().map(|_| ValueType::Unknown).collect()
                } else {
                    op.infer(&ins)
                        .map_err(|e| Error::kernel(&node.name, op.name(), e))?
                        .into_iter()
                        .map(ValueType::Tensor)
                        .collect()
                }
            }
            NodeOp::Seq(SeqOp::Length) | NodeOp::Seq(SeqOp::OptionalHasElement) => {
                vec![ValueType::Tensor(TensorType::known(
                    if matches!(node.op, NodeOp::Seq(SeqOp::Length)) {
                        suanli_kernels::DType::I64
                    } else {
                        suanli_kernels::DType::Bool
                    },
                    &[],
                ))]
            }
            _ => node
                .outputs
                .iter()
                .map(|v| v.map(|v| types[v.0].clone()).unwrap_or(ValueType::Unknown))
                .collect(),
        };
        for (o, t) in node.outputs.iter().zip(outs) {
            if let Some(o) = o {
                // Keep a declared type when inference knows less.
                if t != ValueType::Unknown {
                    types[o.0] = t;
                }
            }
        }
    }
    Ok(types)
}
