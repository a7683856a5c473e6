//! Errors raised by kernels and kernel-level validation.

use thiserror::Error;

/// A kernel-crate error. `op` names the kernel (ONNX-style name) that raised it.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum KernelError {
    /// Inputs or attributes the kernel cannot accept (wrong shape, dtype, value).
    #[error("{op}: {msg}")]
    Invalid { op: String, msg: String },
    /// A valid request this kernel does not implement (e.g. a dtype or mode).
    #[error("{op}: unsupported: {msg}")]
    Unsupported { op: String, msg: String },
}

impl KernelError {
    /// An invalid-input error.
    pub fn invalid(op: impl Into<String>, msg: impl Into<String>) -> KernelError {
        KernelError::Invalid {
            op: op.into(),
            msg: msg.into(),
        }
    }
    /// An unsupported-feature error.
    pub fn unsupported(op: impl Into<String>, msg: impl Into<String>) -> KernelError {
        KernelError::Unsupported {
            op: op.into(),
            msg: msg.into(),
        }
    }
}

/// Result with [`KernelError`].
pub type Result<T, E = KernelError> = std::result::Result<T, E>;
