//! WGSL kernels for the norm family.

use super::{Target, WgslOp};
use suanli_kernels::ops::NormOp;
use suanli_kernels::KernelSpec;

/// Lower a norm spec, or say why the wgpu device cannot run it.
pub fn lower(op: &NormOp, _spec: &KernelSpec, _t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let _ = op;
    Err("no WGSL kernel for this op yet".into())
}
