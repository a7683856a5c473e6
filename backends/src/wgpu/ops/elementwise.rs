//! Elementwise kernels: rendered from the shared elementwise program.
use super::{shader, Shader, Target, WgslOp};
use crate::device::Result;
use crate::wgpu::launch::{Buf, LaunchCx};
use crate::wgpu::memory::Repr;
use suanli_kernels::ops::elementwise::{ElementwiseOp, UnaryOp};
use suanli_kernels::KernelSpec;

struct Probe;
impl WgslOp for Probe {
    fn shaders(&self) -> Vec<Shader> {
        vec![shader(
            "relu",
            &[("T", Repr::F32)],
            "@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Y: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) { return; }
    Y[i] = max(X[i], T(0));
}",
        )]
    }
    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let shape = cx.shape(0)?.to_vec();
        let n: usize = shape.iter().product();
        let dt = cx.dtype(0)?;
        let out = cx.output(dt, shape)?;
        cx.dispatch_1d(0, vec![n as u32], &[Buf::In(0), out], n);
        Ok(())
    }
}

/// Lower an elementwise spec.
pub fn lower(op: &ElementwiseOp, spec: &KernelSpec, _t: &Target) -> Result<Box<dyn WgslOp>, String> {
    match op {
        ElementwiseOp::Unary(UnaryOp::Relu) if spec.outputs[0].dtype == suanli_kernels::DType::F32 => Ok(Box::new(Probe)),
        _ => Err("todo".into()),
    }
}

#[cfg(test)]
mod tests {
    use crate::wgpu::tests::{check, rnd};
    use suanli_kernels::ops::elementwise::{ElementwiseOp, UnaryOp};
    use suanli_kernels::{DType, Op};

    #[test]
    fn relu_probe() {
        check(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Relu)), vec![rnd(DType::F32, &[3, 1000], 1)]);
        check(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Relu)), vec![rnd(DType::F32, &[70000, 300], 1)]);
    }
}
