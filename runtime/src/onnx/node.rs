//! `NodeCtx`: typed access to one ONNX node's attributes, used by the per-family importers.

use super::proto::{attr_type, AttributeProto, GraphProto, NodeProto};
use super::tensor::tensor_from_proto;
use crate::error::{Error, Result};
use std::path::Path;
use suanli_kernels::Tensor;

/// One ONNX node being imported, with the opset version in force for its domain.
pub struct NodeCtx<'a> {
    /// The node.
    pub node: &'a NodeProto,
    /// Opset version of the node's domain.
    pub opset: i64,
    /// Folder of the model file, for external tensor data.
    pub base_dir: Option<&'a Path>,
}

impl<'a> NodeCtx<'a> {
    /// The ONNX op type.
    pub fn op_type(&self) -> &str {
        &self.node.op_type
    }

    /// The node's name (or its first output, when unnamed), for messages.
    pub fn name(&self) -> String {
        if self.node.name.is_empty() {
            self.node.output.first().cloned().unwrap_or_default()
        } else {
            self.node.name.clone()
        }
    }

    /// The domain, with `""` spelled `ai.onnx`.
    pub fn domain(&self) -> &str {
        if self.node.domain.is_empty() {
            "ai.onnx"
        } else {
            &self.node.domain
        }
    }

    /// Number of inputs listed (including empty, omitted ones).
    pub fn num_inputs(&self) -> usize {
        self.node.input.len()
    }

    /// Number of outputs listed (including empty, unused ones).
    pub fn num_outputs(&self) -> usize {
        self.node.output.len()
    }

    /// True when input `i` is present (listed and not empty).
    pub fn has_input(&self, i: usize) -> bool {
        self.node.input.get(i).is_some_and(|s| !s.is_empty())
    }

    /// True when output `i` is requested (listed and not empty).
    pub fn has_output(&self, i: usize) -> bool {
        self.node.output.get(i).is_some_and(|s| !s.is_empty())
    }

    /// An "invalid node" error naming this node.
    pub fn invalid(&self, msg: impl Into<String>) -> Error {
        Error::InvalidNode {
            node: self.name(),
            op_type: self.node.op_type.clone(),
            msg: msg.into(),
        }
    }

    /// An "unsupported" error naming this node, its op type, domain and opset.
    pub fn unsupported(&self, reason: impl Into<String>) -> Error {
        Error::UnsupportedOp {
            node: self.name(),
            op_type: self.node.op_type.clone(),
            domain: self.domain().to_string(),
            opset: self.opset,
            reason: reason.into(),
        }
    }

    /// The attribute proto with this name, if present.
    pub fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    fn typed(&self, name: &str, ty: i32) -> Result<Option<&'a AttributeProto>> {
        match self.attr(name) {
            None => Ok(None),
            Some(a) if a.r#type == ty || a.r#type == 0 => Ok(Some(a)),
            Some(a) => Err(self.invalid(format!(
                "attribute {name:?} has type code {}, expected {ty}",
                a.r#type
            ))),
        }
    }

    /// An int attribute, if present.
    pub fn get_i(&self, name: &str) -> Result<Option<i64>> {
        Ok(self.typed(name, attr_type::INT)?.map(|a| a.i))
    }

    /// An int attribute or its default.
    pub fn i(&self, name: &str, default: i64) -> Result<i64> {
        Ok(self.get_i(name)?.unwrap_or(default))
    }

    /// A required int attribute.
    pub fn req_i(&self, name: &str) -> Result<i64> {
        self.get_i(name)?
            .ok_or_else(|| self.invalid(format!("missing required attribute {name:?}")))
    }

    /// A float attribute, if present.
    pub fn get_f(&self, name: &str) -> Result<Option<f32>> {
        Ok(self.typed(name, attr_type::FLOAT)?.map(|a| a.f))
    }

    /// A float attribute or its default.
    pub fn f(&self, name: &str, default: f32) -> Result<f32> {
        Ok(self.get_f(name)?.unwrap_or(default))
    }

    /// A string attribute, if present.
    pub fn get_s(&self, name: &str) -> Result<Option<String>> {
        match self.typed(name, attr_type::STRING)? {
            None => Ok(None),
            Some(a) => String::from_utf8(a.s.clone())
                .map(Some)
                .map_err(|_| self.invalid(format!("attribute {name:?} is not UTF-8"))),
        }
    }

    /// A string attribute or its default.
    pub fn s(&self, name: &str, default: &str) -> Result<String> {
        Ok(self.get_s(name)?.unwrap_or_else(|| default.to_string()))
    }

    /// An ints attribute, if present.
    pub fn get_ints(&self, name: &str) -> Result<Option<Vec<i64>>> {
        Ok(self.typed(name, attr_type::INTS)?.map(|a| a.ints.clone()))
    }

    /// A floats attribute, if present.
    pub fn get_floats(&self, name: &str) -> Result<Option<Vec<f32>>> {
        Ok(self
            .typed(name, attr_type::FLOATS)?
            .map(|a| a.floats.clone()))
    }

    /// A strings attribute, if present.
    pub fn get_strings(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.typed(name, attr_type::STRINGS)? {
            None => Ok(None),
            Some(a) => a
                .strings
                .iter()
                .map(|s| {
                    String::from_utf8(s.clone())
                        .map_err(|_| self.invalid(format!("attribute {name:?} is not UTF-8")))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
        }
    }

    /// A tensor attribute, if present, decoded to a host tensor.
    pub fn get_tensor(&self, name: &str) -> Result<Option<Tensor>> {
        match self.typed(name, attr_type::TENSOR)? {
            None => Ok(None),
            Some(a) => match &a.t {
                None => Err(self.invalid(format!("attribute {name:?} has no tensor"))),
                Some(t) => tensor_from_proto(t, self.base_dir)
                    .map(Some)
                    .map_err(|e| self.invalid(format!("attribute {name:?}: {e}"))),
            },
        }
    }

    /// A graph attribute (subgraph), if present.
    pub fn get_graph(&self, name: &str) -> Result<Option<&'a GraphProto>> {
        Ok(self
            .typed(name, attr_type::GRAPH)?
            .and_then(|a| a.g.as_ref()))
    }
}
