//! WGSL kernels for the conv family.

use super::{Target, WgslOp};
use suanli_kernels::ops::ConvOp;
use suanli_kernels::KernelSpec;

/// Lower a conv spec, or say why the wgpu device cannot run it.
pub fn lower(op: &ConvOp, _spec: &KernelSpec, _t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let _ = op;
    Err("no WGSL kernel for this op yet".into())
}
