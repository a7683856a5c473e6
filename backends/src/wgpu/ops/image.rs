//! WGSL kernels for the image family.

use super::{Target, WgslOp};
use suanli_kernels::ops::ImageOp;
use suanli_kernels::KernelSpec;

/// Lower a image spec, or say why the wgpu device cannot run it.
pub fn lower(op: &ImageOp, _spec: &KernelSpec, _t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let _ = op;
    Err("no WGSL kernel for this op yet".into())
}
