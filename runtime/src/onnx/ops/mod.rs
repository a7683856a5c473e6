//! Per-family ONNX importers. Each maps ONNX op types (and their opset versions) to typed [`Op`]s.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::Op;

pub mod attention;
pub mod conv;
pub mod elementwise;
pub mod image;
pub mod layout;
pub mod linalg;
pub mod norm;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod rnn;
pub mod signal;
pub mod text;

type FamilyImporter = fn(&NodeCtx) -> Option<Result<Op>>;

const FAMILIES: &[FamilyImporter] = &[
    elementwise::import,
    reduce::import,
    layout::import,
    linalg::import,
    conv::import,
    pool::import,
    norm::import,
    image::import,
    rnn::import,
    attention::import,
    quant::import,
    signal::import,
    text::import,
];

/// Map a node to a kernel [`Op`]; `Ok(None)` when no family knows its op type.
pub fn import_op(ctx: &NodeCtx) -> Result<Option<Op>> {
    for family in FAMILIES {
        if let Some(r) = family(ctx) {
            return r.map(Some);
        }
    }
    Ok(None)
}
