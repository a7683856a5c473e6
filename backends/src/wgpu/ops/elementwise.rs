//! Elementwise kernels: the op becomes a one-instruction elementwise program, rendered to WGSL
//! by the kernels crate's codegen (the same path fused chains take).

use super::{Shader, Target, WgslOp};
use crate::device::{DeviceError, Result};
use crate::wgpu::launch::{Buf, LaunchCx};
use suanli_kernels::codegen::{wgsl, ElementwiseProgram};
use suanli_kernels::ops::ElementwiseOp;
use suanli_kernels::shape::broadcast_shapes;
use suanli_kernels::{KernelError, KernelSpec};

/// A rendered elementwise program and which spec inputs feed it.
struct Program {
    name: &'static str,
    prog: ElementwiseProgram,
    /// Spec input index of each program input.
    feeds: Vec<usize>,
    source: String,
}

impl WgslOp for Program {
    fn shaders(&self) -> Vec<Shader> {
        vec![Shader {
            name: format!("elementwise_{}", self.name),
            source: self.source.clone(),
        }]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let shapes: Vec<Vec<usize>> = self
            .feeds
            .iter()
            .map(|&i| cx.shape(i).map(|s| s.to_vec()))
            .collect::<Result<_>>()?;
        let refs: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
        let out = broadcast_shapes(self.name, &refs).map_err(DeviceError::Kernel)?;
        if out.len() > 8 && refs.iter().any(|s| *s != out.as_slice()) {
            return Err(DeviceError::Kernel(KernelError::unsupported(
                self.name,
                "broadcasting beyond rank 8",
            )));
        }
        let n: usize = out.iter().product();
        let mut bufs: Vec<Buf> = self.feeds.iter().map(|&i| Buf::In(i)).collect();
        for dt in self.prog.output_dtypes() {
            bufs.push(cx.output(dt, out.clone())?);
        }
        cx.dispatch_1d(0, wgsl::params(&out, &refs), &bufs, n);
        Ok(())
    }
}

/// Lower an elementwise spec.
pub fn lower(op: &ElementwiseOp, spec: &KernelSpec, t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let out = spec.outputs.first().ok_or("the spec has no output")?.dtype;
    let mut inputs: Vec<_> = spec.inputs.iter().map(|t| t.as_ref().map(|t| t.dtype)).collect();
    // CastLike's second input only names the dtype: the kernel is a Cast of the first.
    let cast;
    let op = match op {
        ElementwiseOp::CastLike => {
            inputs.truncate(1);
            cast = ElementwiseOp::Cast { to: out };
            &cast
        }
        other => other,
    };
    let feeds: Vec<usize> = (0..inputs.len()).filter(|&i| inputs[i].is_some()).collect();
    let bindings = 1 + feeds.len() + 1;
    if bindings as u32 > t.max_storage_buffers {
        return Err(format!(
            "{} inputs need {bindings} storage bindings; the adapter allows {}",
            feeds.len(),
            t.max_storage_buffers
        ));
    }
    let prog = ElementwiseProgram::single(op, &inputs, out);
    let name = suanli_kernels::OpImpl::name(op);
    let source = wgsl::render(&prog)?;
    Ok(Box::new(Program {
        name,
        prog,
        feeds,
        source,
    }))
}

#[cfg(test)]
mod tests;
