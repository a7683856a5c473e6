//! The runtime's error type: every failure a user can cause ends up here, with context.

use suanli_backends::DeviceError;
use suanli_kernels::KernelError;
use thiserror::Error;

/// Any error from loading, planning or running a model.
#[derive(Debug, Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The model bytes are not a valid ONNX protobuf.
    #[error("cannot decode {what}: {msg}")]
    Decode { what: String, msg: String },
    /// The model is structurally wrong (dangling value, duplicate name, bad attribute…).
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// A node's op (or op version) is not supported.
    #[error("node {node:?}: unsupported op {domain}::{op_type} (opset {opset}): {reason}")]
    UnsupportedOp {
        node: String,
        op_type: String,
        domain: String,
        opset: i64,
        reason: String,
    },
    /// A node's attributes or inputs are wrong.
    #[error("node {node:?} ({op_type}): {msg}")]
    InvalidNode {
        node: String,
        op_type: String,
        msg: String,
    },
    /// A kernel failed while inferring or running a node.
    #[error("node {node:?} ({op}): {source}")]
    Kernel {
        node: String,
        op: String,
        source: KernelError,
    },
    /// An input name the model does not have.
    #[error("unknown input {name:?}; the model's inputs are {expected:?}")]
    UnknownInput { name: String, expected: Vec<String> },
    /// A required input was not given.
    #[error("missing input {name:?} ({expected})")]
    MissingInput { name: String, expected: String },
    /// An input of the wrong dtype.
    #[error("input {name:?}: expected dtype {expected}, got {got}")]
    InputDtype {
        name: String,
        expected: String,
        got: String,
    },
    /// An input whose shape contradicts the model.
    #[error("input {name:?}: expected shape {expected}, got {got:?}")]
    InputShape {
        name: String,
        expected: String,
        got: Vec<usize>,
    },
    /// A device could not do what was asked (absent, out of memory, launch failure).
    #[error("device {device}: {source}")]
    Device { device: String, source: DeviceError },
    /// `--policy deny` and some nodes cannot run natively on the requested device.
    #[error("policy deny: {count} node(s) cannot run on {device}: {list}")]
    PolicyDenied {
        device: String,
        count: usize,
        list: String,
    },
    /// A tensor operation outside any node failed (conversion, input preparation).
    #[error("tensor: {0}")]
    Tensor(#[from] KernelError),
    /// A bad argument to the API or CLI (device string, option value…).
    #[error("{0}")]
    Usage(String),
}

/// Result with the runtime [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wrap a kernel error with the node it happened in.
    pub fn kernel(node: &str, op: &str, source: KernelError) -> Error {
        Error::Kernel {
            node: node.to_string(),
            op: op.to_string(),
            source,
        }
    }
}
