//! WGSL kernels for the layout family.

use super::{Target, WgslOp};
use suanli_kernels::ops::LayoutOp;
use suanli_kernels::KernelSpec;

/// Lower a layout spec, or say why the wgpu device cannot run it.
pub fn lower(op: &LayoutOp, _spec: &KernelSpec, _t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let _ = op;
    Err("no WGSL kernel for this op yet".into())
}
