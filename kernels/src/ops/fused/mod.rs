//! Fused ops: what the graph passes make of chains the CPU runs better in one kernel.
//!
//! `FusedElementwise` is a whole chain of elementwise ops as one [`ElementwiseProgram`] (the
//! same IR the GPU code generators render), evaluated in one pass over memory.

pub mod program;

use crate::codegen::elementwise::ElementwiseProgram;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::shape::{broadcast_dims, Dim, TensorType};
use crate::tensor::Tensor;
pub use program::FastProgram;

/// The fused ops.
#[derive(Clone, Debug, PartialEq)]
pub enum FusedOp {
    /// A chain of elementwise ops: inputs broadcast to one shape, every output has it.
    Elementwise(ElementwiseProgram),
}

impl OpImpl for FusedOp {
    fn name(&self) -> &'static str {
        match self {
            FusedOp::Elementwise(_) => "FusedElementwise",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
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
        }
    }

    fn flops(&self, _inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> u64 {
        match self {
            FusedOp::Elementwise(p) => {
                let n: u64 = outputs.first().map(|s| s.iter().product::<usize>() as u64).unwrap_or(0);
                n * p.insts.len() as u64
            }
        }
    }
}

#[cfg(test)]
mod tests;
