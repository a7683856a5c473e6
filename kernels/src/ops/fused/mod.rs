//! Fused ops: what the graph passes make of chains the CPU runs better in one kernel.
//!
//! `FusedElementwise` is a whole chain of elementwise ops as one [`ElementwiseProgram`] (the
//! same IR the GPU code generators render), evaluated in one pass over memory. `FusedConv`,
//! `FusedMatMul` and `FusedGemm` are the linear ops with their epilogue (bias, residual add,
//! activation) applied in the GEMM write-back. [`prepare`] packs constant weights once.

pub mod linear;
pub mod program;

use crate::codegen::elementwise::ElementwiseProgram;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, Op, OpImpl};
use crate::ops::conv::{ConvOp, Window};
use crate::ops::linalg::matmul::GemmArgs;
pub use crate::ops::linalg::sgemm::Activation;
use crate::ops::linalg::LinalgOp;
use crate::shape::{broadcast_dims, Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{opt, req};
pub use linear::Packed;
pub use program::FastProgram;

/// The fused ops.
#[derive(Clone, Debug, PartialEq)]
pub enum FusedOp {
    /// A chain of elementwise ops: inputs broadcast to one shape, every output has it.
    Elementwise(ElementwiseProgram),
    /// `act(Conv(X, W, B) + R)`: inputs X, W, optional B, and R (the output's shape) when
    /// `residual`.
    Conv {
        /// Window attributes.
        window: Window,
        /// Groups.
        group: usize,
        /// Activation applied last.
        act: Activation,
        /// Input 3 is added before the activation.
        residual: bool,
    },
    /// `act(A·B + bias)` with a 2-D B and an optional bias (input 2) of B's column count.
    MatMul {
        /// Activation applied last.
        act: Activation,
    },
    /// `act(Gemm(A, B, C))`.
    Gemm {
        /// Gemm attributes.
        args: GemmArgs,
        /// Activation applied last.
        act: Activation,
    },
}

impl FusedOp {
    /// The unfused op whose shapes and flops this op has.
    fn base(&self) -> Option<Op> {
        match self {
            FusedOp::Elementwise(_) => None,
            FusedOp::Conv { window, group, .. } => Some(Op::Conv(ConvOp::Conv {
                window: window.clone(),
                group: *group,
            })),
            FusedOp::MatMul { .. } => Some(Op::Linalg(LinalgOp::MatMul)),
            FusedOp::Gemm { args, .. } => Some(Op::Linalg(LinalgOp::Gemm(*args))),
        }
    }

    /// Run with weights packed by [`prepare`] (or without, when `packed` is `None`).
    pub fn run_packed(&self, inputs: &[Option<&Tensor>], packed: Option<&Packed>) -> Result<Vec<Tensor>> {
        let op = self.name();
        let out = match self {
            FusedOp::Elementwise(_) => return self.run(inputs),
            FusedOp::Conv {
                window,
                group,
                act,
                residual,
            } => run_conv(op, window, *group, *act, *residual, inputs, packed)?,
            FusedOp::MatMul { act } => {
                linear::matmul(*act, req(op, inputs, 0)?, req(op, inputs, 1)?, opt(inputs, 2), packed)?
            }
            FusedOp::Gemm { args, act } => linear::gemm(
                args,
                *act,
                req(op, inputs, 0)?,
                req(op, inputs, 1)?,
                opt(inputs, 2),
                packed,
            )?,
        };
        Ok(crate::buffers::one(out))
    }
}

/// What the CPU derives once, when a kernel is compiled, instead of on every run.
#[derive(Debug)]
pub enum Prepared {
    /// Constant Conv / MatMul / Gemm weights packed for the GEMM.
    Weights(Packed),
    /// A fused elementwise program translated to its fast f32 form.
    Program(FastProgram),
}

/// Prepare `op` once: pack the constant f32 weights of a Conv, MatMul or Gemm (plain or fused),
/// or translate a fused elementwise program. `None` when there is nothing to prepare.
/// `consts[i]` is input `i` when it is a constant.
pub fn prepare(op: &Op, consts: &[Option<&Tensor>]) -> Result<Option<Prepared>> {
    prepare_with(op, consts, None)
}

/// [`prepare`] for a whole kernel spec: static output shapes let a Conv pack its weights for
/// the GEMM orientation its output size calls for.
pub fn prepare_spec(spec: &crate::KernelSpec, consts: &[Option<&Tensor>]) -> Result<Option<Prepared>> {
    let x_shape = spec.inputs.first().cloned().flatten().and_then(|t| t.concrete());
    prepare_with(&spec.op, consts, x_shape.as_deref())
}

fn prepare_with(op: &Op, consts: &[Option<&Tensor>], x_shape: Option<&[usize]>) -> Result<Option<Prepared>> {
    use crate::dtype::DType;
    if let Op::Fused(FusedOp::Elementwise(p)) = op {
        return Ok(FastProgram::new(p).map(Prepared::Program));
    }
    let Some(w) = consts.get(1).copied().flatten().filter(|w| w.dtype() == DType::F32) else {
        return Ok(None);
    };
    let packed = match op {
        Op::Conv(ConvOp::Conv { group, window }) | Op::Fused(FusedOp::Conv { group, window, .. }) if w.rank() >= 3 => {
            // The geometry (when the input shape is static) picks the orientation to pack.
            let geom = x_shape.and_then(|xs| crate::ops::conv::conv_geometry(window, *group, xs, w.shape()).ok());
            Packed::Conv(crate::ops::conv::fast::PackedConvWeights::for_geometry(
                w.as_slice::<f32>()?,
                w.shape(),
                *group,
                geom.as_ref(),
            )?)
        }
        Op::Linalg(LinalgOp::MatMul) | Op::Fused(FusedOp::MatMul { .. }) if w.rank() == 2 => {
            linear::pack_right(w, false)?
        }
        Op::Linalg(LinalgOp::Gemm(g)) | Op::Fused(FusedOp::Gemm { args: g, .. }) if w.rank() == 2 => {
            linear::pack_right(w, g.trans_b)?
        }
        _ => return Ok(None),
    };
    Ok(Some(Prepared::Weights(packed)))
}

/// A convolution with its epilogue: inputs X, W, optional bias, and the residual as input 3
/// when `residual`.
fn run_conv(
    op: &str,
    window: &Window,
    group: usize,
    act: Activation,
    residual: bool,
    inputs: &[Option<&Tensor>],
    packed: Option<&Packed>,
) -> Result<Tensor> {
    let r = if residual { Some(req(op, inputs, 3)?) } else { None };
    linear::conv(
        window,
        group,
        act,
        req(op, inputs, 0)?,
        req(op, inputs, 1)?,
        opt(inputs, 2),
        r,
        packed,
    )
}

/// Run `op` with what [`prepare`] made: the fast program, or the packed weights for the f32
/// linear ops; anything else (or other dtypes) runs as usual.
pub fn run_prepared(op: &Op, prepared: &Prepared, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    use crate::dtype::DType;
    let packed = match prepared {
        Prepared::Program(fast) => {
            // Programs rarely read more than a few inputs: listed inline.
            let xs = inputs
                .iter()
                .enumerate()
                .map(|(i, t)| t.ok_or_else(|| KernelError::invalid(op.name(), format!("input {i} is missing"))))
                .collect::<Result<smallvec::SmallVec<[&Tensor; 8]>>>()?;
            return fast.eval(&xs);
        }
        Prepared::Weights(p) => p,
    };
    let f32_in = inputs
        .first()
        .copied()
        .flatten()
        .is_some_and(|x| x.dtype() == DType::F32);
    if !f32_in {
        return op.run(inputs);
    }
    let a = Activation::None;
    match op {
        Op::Fused(f) => f.run_packed(inputs, Some(packed)),
        Op::Conv(ConvOp::Conv { window, group }) => Ok(crate::buffers::one(run_conv(
            "Conv",
            window,
            *group,
            a,
            false,
            inputs,
            Some(packed),
        )?)),
        Op::Linalg(LinalgOp::MatMul) if inputs.first().copied().flatten().is_some_and(|x| x.rank() >= 2) => {
            FusedOp::MatMul { act: a }.run_packed(&inputs[..inputs.len().min(2)], Some(packed))
        }
        Op::Linalg(LinalgOp::Gemm(g)) => FusedOp::Gemm { args: *g, act: a }.run_packed(inputs, Some(packed)),
        _ => op.run(inputs),
    }
}

impl OpImpl for FusedOp {
    fn name(&self) -> &'static str {
        match self {
            FusedOp::Elementwise(_) => "FusedElementwise",
            FusedOp::Conv { .. } => "FusedConv",
            FusedOp::MatMul { .. } => "FusedMatMul",
            FusedOp::Gemm { .. } => "FusedGemm",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        if let Some(base) = self.base() {
            let n = if matches!(self, FusedOp::MatMul { .. }) { 2 } else { 3 };
            return base.infer(&inputs[..inputs.len().min(n)]);
        }
        match self {
            FusedOp::Elementwise(p) => {
                p.validate()?;
                if inputs.len() != p.inputs.len() {
                    return Err(KernelError::invalid(
                        self.name(),
                        format!("{} inputs given, {} expected", inputs.len(), p.inputs.len()),
                    ));
                }
                let mut shapes: Vec<Vec<Dim>> = Vec::new();
                let mut known = true;
                for (i, inp) in inputs.iter().enumerate() {
                    let ty = inp
                        .ty
                        .ok_or_else(|| KernelError::invalid(self.name(), format!("input {i} is missing")))?;
                    if ty.dtype != p.inputs[i] {
                        return Err(KernelError::invalid(
                            self.name(),
                            format!("input {i} is {}, the program expects {}", ty.dtype, p.inputs[i]),
                        ));
                    }
                    match &ty.shape {
                        Some(s) => shapes.push(s.clone()),
                        None => known = false,
                    }
                }
                let shape = if known {
                    let refs: Vec<&[Dim]> = shapes.iter().map(|s| s.as_slice()).collect();
                    Some(broadcast_dims(self.name(), &refs)?)
                } else {
                    None
                };
                Ok(p.output_dtypes()
                    .into_iter()
                    .map(|dtype| TensorType {
                        dtype,
                        shape: shape.clone(),
                    })
                    .collect())
            }
            _ => Err(KernelError::invalid(self.name(), "no base op")),
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        match self {
            FusedOp::Elementwise(p) => {
                let xs = inputs
                    .iter()
                    .enumerate()
                    .map(|(i, t)| t.ok_or_else(|| KernelError::invalid(self.name(), format!("input {i} is missing"))))
                    .collect::<Result<Vec<_>>>()?;
                match FastProgram::new(p) {
                    Some(fast) => fast.eval(&xs),
                    None => p.eval(&xs),
                }
            }
            _ => self.run_packed(inputs, None),
        }
    }

    fn flops(&self, inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> u64 {
        let n: u64 = outputs.first().map(|s| s.iter().product::<usize>() as u64).unwrap_or(0);
        match (self, self.base()) {
            (FusedOp::Elementwise(p), _) => n * p.insts.len() as u64,
            (_, Some(base)) => base.imp().flops(&inputs[..inputs.len().min(2)], outputs) + n,
            (_, None) => 0,
        }
    }
}

#[cfg(test)]
mod tests;
