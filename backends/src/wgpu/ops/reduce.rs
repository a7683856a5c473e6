//! WGSL kernels for the reduce family.

use super::{Target, WgslOp};
use suanli_kernels::ops::ReduceOp;
use suanli_kernels::KernelSpec;

/// Lower a reduce spec, or say why the wgpu device cannot run it.
pub fn lower(op: &ReduceOp, _spec: &KernelSpec, _t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let _ = op;
    Err("no WGSL kernel for this op yet".into())
}
