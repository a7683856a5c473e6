//! ONNX → `Op` mapping for the norm family.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::Op;

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(_ctx: &NodeCtx) -> Option<Result<Op>> {
    None
}
