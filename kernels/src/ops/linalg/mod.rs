//! LinalgOp family: MatMul, Gemm, MatMulInteger, Einsum, Det.

pub mod det;
pub mod einsum;
pub mod gemm;
pub mod matmul;
pub mod sgemm;

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::shape::TensorType;
use crate::tensor::Tensor;
use crate::util::{opt, req, req_ty};
pub use einsum::{parse_equation, EinTerm, EinsumSpec};
pub use matmul::GemmArgs;

/// The linear-algebra ops.
#[derive(Clone, Debug, PartialEq)]
pub enum LinalgOp {
    /// numpy `matmul` (batched, broadcasting, 1-D operands promoted).
    MatMul,
    /// `alpha·op(A)·op(B) + beta·C` with unidirectional broadcast of the optional C.
    Gemm(GemmArgs),
    /// Integer matmul of u8/i8 operands with optional zero points, producing i32.
    MatMulInteger,
    /// Einstein summation over a parsed equation.
    Einsum(EinsumSpec),
    /// Batched determinant of the last two dims.
    Det,
}

impl OpImpl for LinalgOp {
    fn name(&self) -> &'static str {
        match self {
            LinalgOp::MatMul => "MatMul",
            LinalgOp::Gemm(_) => "Gemm",
            LinalgOp::MatMulInteger => "MatMulInteger",
            LinalgOp::Einsum(_) => "Einsum",
            LinalgOp::Det => "Det",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let op = self.name();
        match self {
            LinalgOp::MatMul => {
                let (a, b) = (req_ty(op, inputs, 0)?, req_ty(op, inputs, 1)?);
                matmul::infer_matmul(op, a, b, a.dtype)
            }
            LinalgOp::MatMulInteger => {
                let (a, b) = (req_ty(op, inputs, 0)?, req_ty(op, inputs, 1)?);
                matmul::infer_matmul(op, a, b, DType::I32)
            }
            LinalgOp::Gemm(g) => matmul::infer_gemm(req_ty(op, inputs, 0)?, req_ty(op, inputs, 1)?, g),
            LinalgOp::Einsum(spec) => {
                let tys = (0..inputs.len())
                    .map(|i| req_ty(op, inputs, i))
                    .collect::<Result<Vec<_>>>()?;
                Ok(vec![einsum::infer_einsum(spec, &tys)?])
            }
            LinalgOp::Det => Ok(vec![det::infer_det(req_ty(op, inputs, 0)?)?]),
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let op = self.name();
        let out = match self {
            LinalgOp::MatMul => matmul::matmul(req(op, inputs, 0)?, req(op, inputs, 1)?)?,
            LinalgOp::Gemm(g) => matmul::gemm(req(op, inputs, 0)?, req(op, inputs, 1)?, opt(inputs, 2), g)?,
            LinalgOp::MatMulInteger => {
                matmul::matmul_integer(req(op, inputs, 0)?, req(op, inputs, 1)?, opt(inputs, 2), opt(inputs, 3))?
            }
            LinalgOp::Einsum(spec) => {
                let xs = (0..inputs.len())
                    .map(|i| req(op, inputs, i))
                    .collect::<Result<Vec<_>>>()?;
                let dt = xs
                    .first()
                    .map(|t| t.dtype())
                    .ok_or_else(|| KernelError::invalid(op, "no inputs"))?;
                if xs.iter().any(|t| t.dtype() != dt) || !dt.is_numeric() {
                    return Err(KernelError::invalid(op, "inputs must share one numeric dtype"));
                }
                let (shape, data) = einsum::einsum(spec, &xs)?;
                gemm::store_f64(data, dt, shape)?
            }
            LinalgOp::Det => det::det(req(op, inputs, 0)?)?,
        };
        Ok(vec![out])
    }

    fn flops(&self, inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> u64 {
        let shape = |i: usize| inputs.get(i).copied().flatten();
        match self {
            LinalgOp::MatMul | LinalgOp::MatMulInteger => match (shape(0), shape(1)) {
                (Some(a), Some(b)) => matmul::plan_matmul("MatMul", a, b)
                    .map(|p| 2 * (p.batch.iter().product::<usize>() * p.m * p.k * p.n) as u64)
                    .unwrap_or(0),
                _ => 0,
            },
            LinalgOp::Gemm(g) => match (shape(0), shape(1)) {
                (Some(a), Some(b)) => matmul::gemm_dims("Gemm", a, b, g)
                    .map(|(m, k, n)| 2 * (m * k * n) as u64 + (m * n) as u64)
                    .unwrap_or(0),
                _ => 0,
            },
            LinalgOp::Det => shape(0)
                .map(|s| {
                    let n = s.last().copied().unwrap_or(0) as u64;
                    s.iter().product::<usize>() as u64 * n * 2 / 3
                })
                .unwrap_or(0),
            LinalgOp::Einsum(_) => {
                let ins: u64 = inputs
                    .iter()
                    .flatten()
                    .map(|s| s.iter().product::<usize>() as u64)
                    .sum();
                let outs: u64 = outputs.iter().map(|s| s.iter().product::<usize>() as u64).sum();
                2 * ins.max(outs)
            }
        }
    }
}

#[cfg(test)]
mod tests;
