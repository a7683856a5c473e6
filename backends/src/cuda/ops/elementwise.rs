//! Elementwise kernels: a single op becomes a one-instruction elementwise program and a fused
//! chain is its program; both are rendered to CUDA C by the kernels crate's codegen.

use super::{CudaOp, CudaSource};
use crate::cuda::launch::{Arg, Buf, LaunchCx};
use crate::device::{DeviceError, Result};
use suanli_kernels::codegen::{cuda, ElementwiseProgram};
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

impl CudaOp for Program {
    fn sources(&self) -> Vec<CudaSource> {
        vec![CudaSource {
            name: format!("elementwise_{}", self.name),
            source: self.source.clone(),
            entry: "suanli_ew".into(),
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
        if out.len() > cuda::MAX_RANK && refs.iter().any(|s| *s != out.as_slice()) {
            return Err(DeviceError::Kernel(KernelError::unsupported(
                self.name,
                "broadcasting beyond rank 8",
            )));
        }
        let n: usize = out.iter().product();
        // Past rank 8 every input has the output's shape: index it as one flat dimension.
        let (pout, prefs): (Vec<usize>, Vec<Vec<usize>>) = if out.len() > cuda::MAX_RANK {
            (vec![n], refs.iter().map(|_| vec![n]).collect())
        } else {
            (out.clone(), shapes.clone())
        };
        let prefs: Vec<&[usize]> = prefs.iter().map(|s| s.as_slice()).collect();
        let mut args = vec![Arg::Words(cuda::params(&pout, &prefs))];
        args.extend(self.feeds.iter().map(|&i| Arg::Ptr(Buf::In(i))));
        for dt in self.prog.output_dtypes() {
            args.push(Arg::Ptr(cx.output(dt, out.clone())));
        }
        cx.kernel_1d(0, args, n);
        Ok(())
    }
}

/// Lower an elementwise spec.
pub fn lower(op: &ElementwiseOp, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
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
    let prog = ElementwiseProgram::single(op, &inputs, out);
    let name = suanli_kernels::OpImpl::name(op);
    let source = cuda::render(&prog)?;
    Ok(Box::new(Program {
        name,
        prog,
        feeds,
        source,
    }))
}

/// Lower a fused elementwise chain (every spec input feeds the program in order).
pub fn lower_program(prog: &ElementwiseProgram, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
    if spec.inputs.len() != prog.inputs.len() || spec.inputs.iter().any(|t| t.is_none()) {
        return Err("a fused elementwise program takes every input".into());
    }
    prog.validate().map_err(|e| e.to_string())?;
    let source = cuda::render(prog)?;
    Ok(Box::new(Program {
        name: "FusedElementwise",
        prog: prog.clone(),
        feeds: (0..prog.inputs.len()).collect(),
        source,
    }))
}
