//! Constant folding: run nodes whose inputs are all constants once, at session build.

use crate::error::{Error, Result};
use crate::graph::{Graph, NodeOp};
use std::sync::Arc;
use suanli_kernels::Tensor;

/// Largest folded output kept (elements); bigger results stay as runtime nodes.
const MAX_FOLDED_ELEMENTS: usize = 64 << 20;

/// Fold every kernel node whose inputs are all constants. Returns how many nodes were folded.
pub fn fold_constants(g: &mut Graph) -> Result<usize> {
    let mut folded = 0;
    let mut keep = Vec::with_capacity(g.nodes.len());
    for node in std::mem::take(&mut g.nodes) {
        let NodeOp::Kernel(op) = &node.op else {
            keep.push(node);
            continue;
        };
        let nondeterministic = matches!(
            op.name(),
            "RandomUniformLike" | "RandomNormalLike" | "Bernoulli" | "Multinomial" | "Dropout"
        );
        let all_const = !nondeterministic
            && node
                .inputs
                .iter()
                .flatten()
                .all(|v| g.constants.contains_key(v))
            && !node.outputs.is_empty();
        if !all_const {
            keep.push(node);
            continue;
        }
        let ins: Vec<Option<&Tensor>> = node
            .inputs
            .iter()
            .map(|v| v.and_then(|v| g.constants.get(&v).map(|t| &**t)))
            .collect();
        let outs = op
            .run(&ins)
            .map_err(|e| Error::kernel(&node.name, op.name(), e))?;
        if outs.iter().any(|t| t.len() > MAX_FOLDED_ELEMENTS)
            || outs.len() < node.outputs.iter().flatten().count()
        {
            keep.push(node);
            continue;
        }
        for (o, t) in node.outputs.iter().zip(outs) {
            if let Some(o) = o {
                g.values[o.0].ty = crate::graph::ValueType::Tensor(
                    suanli_kernels::TensorType::known(t.dtype(), t.shape()),
                );
                g.constants.insert(*o, Arc::new(t));
            }
        }
        folded += 1;
    }
    g.nodes = keep;
    Ok(folded)
}
