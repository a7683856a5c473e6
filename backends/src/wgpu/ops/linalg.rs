//! WGSL kernels for the linalg family.

use super::{Target, WgslOp};
use suanli_kernels::ops::LinalgOp;
use suanli_kernels::KernelSpec;

/// Lower a linalg spec, or say why the wgpu device cannot run it.
pub fn lower(op: &LinalgOp, _spec: &KernelSpec, _t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let _ = op;
    Err("no WGSL kernel for this op yet".into())
}
