//! Build a graph from Rust, without ONNX.
//!
//! ```
//! use suanli::graph::builder::GraphBuilder;
//! use suanli::kernels::{DType, Dim};
//! let mut b = GraphBuilder::new();
//! let x = b.input("x", DType::F32, vec![Dim::Sym("batch".into()), Dim::Known(4)]);
//! b.output(x, "y");
//! let g = b.build().unwrap();
//! assert_eq!(g.inputs.len(), 1);
//! ```

use super::infer::infer_types;
use super::{Graph, Node, NodeOp, ValueId, ValueType};
use crate::error::{Error, Result};
use std::sync::Arc;
use suanli_kernels::{DType, Dim, Op, Tensor, TensorType};

/// Incrementally builds a [`Graph`]; `build` validates it with type inference.
#[derive(Default)]
pub struct GraphBuilder {
    g: Graph,
    output_names: Vec<(ValueId, String)>,
}

impl GraphBuilder {
    /// An empty builder.
    pub fn new() -> GraphBuilder {
        GraphBuilder::default()
    }

    /// Declare a graph input.
    pub fn input(&mut self, name: &str, dtype: DType, shape: Vec<Dim>) -> ValueId {
        let v = self.g.add_value(
            name,
            ValueType::Tensor(TensorType {
                dtype,
                shape: Some(shape),
            }),
        );
        self.g.inputs.push(v);
        v
    }

    /// Add a constant tensor (a weight).
    pub fn constant(&mut self, name: &str, t: Tensor) -> ValueId {
        let v = self.g.add_value(
            name,
            ValueType::Tensor(TensorType::known(t.dtype(), t.shape())),
        );
        self.g.constants.insert(v, Arc::new(t));
        v
    }

    /// Apply an op to inputs; returns its outputs (`n_outputs` of them).
    pub fn op_n(&mut self, op: Op, inputs: &[ValueId], n_outputs: usize) -> Vec<ValueId> {
        let idx = self.g.nodes.len();
        let name = format!("{}_{idx}", op.name());
        let outputs: Vec<ValueId> = (0..n_outputs)
            .map(|i| self.g.add_value(format!("{name}:{i}"), ValueType::Unknown))
            .collect();
        self.g.nodes.push(Node {
            name,
            op: NodeOp::Kernel(op),
            inputs: inputs.iter().map(|&v| Some(v)).collect(),
            outputs: outputs.iter().map(|&v| Some(v)).collect(),
            formal_inputs: inputs.len(),
        });
        outputs
    }

    /// Apply a single-output op.
    pub fn op(&mut self, op: Op, inputs: &[ValueId]) -> ValueId {
        self.op_n(op, inputs, 1)[0]
    }

    /// Mark a value as a graph output under `name`.
    pub fn output(&mut self, v: ValueId, name: &str) {
        self.output_names.push((v, name.to_string()));
    }

    /// Finish: rename outputs, check that every node's inputs are defined, infer types.
    pub fn build(mut self) -> Result<Graph> {
        for (v, name) in std::mem::take(&mut self.output_names) {
            if self.g.inputs.contains(&v) || self.g.constants.contains_key(&v) {
                // An input or constant used directly as an output gets an Identity-free alias:
                // keep its name; outputs may share values.
                self.g.outputs.push(v);
                continue;
            }
            self.g.values[v.0].name = name;
            self.g.outputs.push(v);
        }
        let types = infer_types(&self.g, &[])?;
        for (i, t) in types.into_iter().enumerate() {
            self.g.values[i].ty = t;
        }
        if self.g.outputs.is_empty() {
            return Err(Error::InvalidModel("the graph has no outputs".into()));
        }
        Ok(self.g)
    }
}
