//! WGSL kernels for the pool family.

use super::{Target, WgslOp};
use suanli_kernels::ops::PoolOp;
use suanli_kernels::KernelSpec;

/// Lower a pool spec, or say why the wgpu device cannot run it.
pub fn lower(op: &PoolOp, _spec: &KernelSpec, _t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let _ = op;
    Err("no WGSL kernel for this op yet".into())
}
