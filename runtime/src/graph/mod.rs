//! The op graph: typed values, nodes with closed ops, inputs, outputs and constants.

pub mod builder;
pub mod infer;
pub mod seq;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use suanli_kernels::{Op, Tensor, TensorType};

pub use seq::SeqOp;

/// Index of a value in [`Graph::values`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub usize);

/// The static type of a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// A tensor.
    Tensor(TensorType),
    /// A sequence of tensors (element type, shape may vary per element).
    Sequence(Option<Box<ValueType>>),
    /// An optional value.
    Optional(Option<Box<ValueType>>),
    /// Not known statically (inferred at run time).
    Unknown,
}

impl ValueType {
    /// The tensor type, if this is a tensor.
    pub fn tensor(&self) -> Option<&TensorType> {
        match self {
            ValueType::Tensor(t) => Some(t),
            _ => None,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueType::Tensor(t) => write!(f, "{t}"),
            ValueType::Sequence(Some(e)) => write!(f, "seq<{e}>"),
            ValueType::Sequence(None) => write!(f, "seq<?>"),
            ValueType::Optional(Some(e)) => write!(f, "optional<{e}>"),
            ValueType::Optional(None) => write!(f, "optional<?>"),
            ValueType::Unknown => f.write_str("?"),
        }
    }
}

/// A named, typed value.
#[derive(Clone, Debug)]
pub struct ValueInfo {
    /// Name (unique within the graph).
    pub name: String,
    /// Static type.
    pub ty: ValueType,
}

/// A run-time value: a tensor, a sequence of tensors, or an optional.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A host tensor.
    Tensor(Tensor),
    /// A sequence of tensors.
    Sequence(Vec<Tensor>),
    /// An optional value (`None` = empty).
    Optional(Option<Box<Value>>),
}

impl Value {
    /// The tensor, if this value is one.
    pub fn as_tensor(&self) -> Option<&Tensor> {
        match self {
            Value::Tensor(t) => Some(t),
            _ => None,
        }
    }
    /// A short description (`f32[2,3]`, `seq(3)`, `optional(empty)`).
    pub fn describe(&self) -> String {
        match self {
            Value::Tensor(t) => format!("{}{:?}", t.dtype(), t.shape()),
            Value::Sequence(s) => format!("seq({})", s.len()),
            Value::Optional(None) => "optional(empty)".into(),
            Value::Optional(Some(v)) => format!("optional({})", v.describe()),
        }
    }
}

/// Scan's static configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanSpec {
    /// Number of scan inputs (the rest of the inputs are loop state).
    pub num_scan_inputs: usize,
    /// Per scan input: iterate backwards?
    pub input_reverse: Vec<bool>,
    /// Per scan input: axis to iterate over.
    pub input_axes: Vec<i64>,
    /// Per scan output: stack backwards?
    pub output_reverse: Vec<bool>,
    /// Per scan output: axis to stack along.
    pub output_axes: Vec<i64>,
    /// Opset 8 Scan has a leading batch dim and a sequence_lens input.
    pub batched: bool,
}

/// What a node does.
#[derive(Clone, Debug)]
pub enum NodeOp {
    /// A kernel op, runnable on devices.
    Kernel(Op),
    /// Conditional: runs one of two subgraphs.
    If {
        then_branch: Arc<Graph>,
        else_branch: Arc<Graph>,
    },
    /// Loop with trip count and condition.
    Loop { body: Arc<Graph> },
    /// Scan over input slices.
    Scan { body: Arc<Graph>, spec: ScanSpec },
    /// Sequence and optional ops (host side).
    Seq(SeqOp),
}

impl NodeOp {
    /// Name for reports.
    pub fn name(&self) -> &str {
        match self {
            NodeOp::Kernel(op) => op.name(),
            NodeOp::If { .. } => "If",
            NodeOp::Loop { .. } => "Loop",
            NodeOp::Scan { .. } => "Scan",
            NodeOp::Seq(s) => s.name(),
        }
    }
}

/// One node: an op applied to values.
#[derive(Clone, Debug)]
pub struct Node {
    /// Name (from the model, or generated).
    pub name: String,
    /// The op.
    pub op: NodeOp,
    /// Inputs; `None` for omitted optional inputs. Control-flow nodes list the outer values
    /// their subgraphs capture after their formal inputs.
    pub inputs: Vec<Option<ValueId>>,
    /// Outputs; `None` for outputs the model does not use.
    pub outputs: Vec<Option<ValueId>>,
    /// For control-flow nodes: how many of `inputs` are formal (the rest are captures).
    pub formal_inputs: usize,
}

/// A graph: values, nodes in topological order, inputs, outputs and constant values.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Every value.
    pub values: Vec<ValueInfo>,
    /// Nodes in execution (topological) order.
    pub nodes: Vec<Node>,
    /// Graph inputs the caller provides.
    pub inputs: Vec<ValueId>,
    /// Graph outputs.
    pub outputs: Vec<ValueId>,
    /// Constant values (initializers and folded constants).
    pub constants: HashMap<ValueId, Arc<Tensor>>,
    /// For subgraphs: values taken from the enclosing scope, by outer name.
    pub captures: Vec<(String, ValueId)>,
}

impl Graph {
    /// Add a value and return its id.
    pub fn add_value(&mut self, name: impl Into<String>, ty: ValueType) -> ValueId {
        self.values.push(ValueInfo {
            name: name.into(),
            ty,
        });
        ValueId(self.values.len() - 1)
    }

    /// The value's name.
    pub fn name(&self, v: ValueId) -> &str {
        &self.values[v.0].name
    }

    /// Find a value by name.
    pub fn find(&self, name: &str) -> Option<ValueId> {
        self.values.iter().position(|v| v.name == name).map(ValueId)
    }

    /// Number of parameters (elements of all constant tensors).
    pub fn parameter_count(&self) -> usize {
        self.constants.values().map(|t| t.len()).sum()
    }

    /// Op histogram: op name → count (including subgraphs).
    pub fn op_histogram(&self) -> Vec<(String, usize)> {
        let mut h: HashMap<String, usize> = HashMap::new();
        self.visit_nodes(&mut |n| *h.entry(n.op.name().to_string()).or_default() += 1);
        let mut v: Vec<_> = h.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Visit every node, recursing into subgraphs.
    pub fn visit_nodes(&self, f: &mut dyn FnMut(&Node)) {
        for n in &self.nodes {
            f(n);
            match &n.op {
                NodeOp::If {
                    then_branch,
                    else_branch,
                } => {
                    then_branch.visit_nodes(f);
                    else_branch.visit_nodes(f);
                }
                NodeOp::Loop { body } | NodeOp::Scan { body, .. } => body.visit_nodes(f),
                NodeOp::Seq(SeqOp::Map { body, .. }) => body.visit_nodes(f),
                _ => {}
            }
        }
    }

    /// For each value, the index of the last node that reads it (`usize::MAX` for graph outputs).
    pub fn last_uses(&self) -> Vec<Option<usize>> {
        let mut last = vec![None; self.values.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for v in n.inputs.iter().flatten() {
                last[v.0] = Some(i);
            }
        }
        for v in &self.outputs {
            last[v.0] = Some(usize::MAX);
        }
        last
    }
}
