//! QuantOp family: linear (de)quantisation and quantised integer kernels.

mod linear;
mod qlinear;

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::shape::TensorType;
use crate::tensor::Tensor;
use crate::util::req_ty;

/// How a convolution pads its input (ONNX `auto_pad`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoPad {
    /// Use the explicit `pads`.
    NotSet,
    /// Pad so that output = ceil(input / stride), extra padding at the end.
    SameUpper,
    /// Pad so that output = ceil(input / stride), extra padding at the start.
    SameLower,
    /// No padding.
    Valid,
}

/// The quantisation ops.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantOp {
    /// `y = saturate(round_half_even(x / scale) + zero_point)`; per-tensor, per-axis or blocked.
    QuantizeLinear {
        /// Quantisation axis (per-axis and blocked modes).
        axis: i64,
        /// Block size along `axis` (0 = not blocked).
        block_size: usize,
        /// Output dtype when no zero point is given (default u8).
        output_dtype: Option<DType>,
    },
    /// `y = (x - zero_point) * scale`; per-tensor, per-axis or blocked.
    DequantizeLinear {
        /// Quantisation axis (per-axis and blocked modes).
        axis: i64,
        /// Block size along `axis` (0 = not blocked).
        block_size: usize,
        /// Output dtype (default: the scale's dtype).
        output_dtype: Option<DType>,
    },
    /// Per-tensor u8 quantisation with scale and zero point computed from the data.
    DynamicQuantizeLinear,
    /// Quantised matrix product with requantised output.
    QLinearMatMul,
    /// Quantised convolution (direct integer implementation).
    QLinearConv {
        /// Padding policy.
        auto_pad: AutoPad,
        /// Dilations per spatial axis (empty = all 1).
        dilations: Vec<usize>,
        /// Number of groups.
        group: usize,
        /// Kernel spatial shape (empty = from the weights).
        kernel_shape: Vec<usize>,
        /// Begin pads then end pads (empty = zeros).
        pads: Vec<usize>,
        /// Strides per spatial axis (empty = all 1).
        strides: Vec<usize>,
    },
}

impl OpImpl for QuantOp {
    fn name(&self) -> &'static str {
        match self {
            QuantOp::QuantizeLinear { .. } => "QuantizeLinear",
            QuantOp::DequantizeLinear { .. } => "DequantizeLinear",
            QuantOp::DynamicQuantizeLinear => "DynamicQuantizeLinear",
            QuantOp::QLinearMatMul => "QLinearMatMul",
            QuantOp::QLinearConv { .. } => "QLinearConv",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let name = self.name();
        let x = req_ty(name, inputs, 0)?;
        match self {
            QuantOp::QuantizeLinear { output_dtype, .. } => {
                let dt = match inputs.get(2).and_then(|i| i.ty) {
                    Some(zp) => zp.dtype,
                    None => output_dtype.unwrap_or(DType::U8),
                };
                Ok(vec![TensorType { dtype: dt, shape: x.shape.clone() }])
            }
            QuantOp::DequantizeLinear { output_dtype, .. } => {
                let scale = req_ty(name, inputs, 1)?;
                let dt = output_dtype.unwrap_or(scale.dtype);
                Ok(vec![TensorType { dtype: dt, shape: x.shape.clone() }])
            }
            QuantOp::DynamicQuantizeLinear => Ok(vec![
                TensorType { dtype: DType::U8, shape: x.shape.clone() },
                TensorType::known(DType::F32, &[]),
                TensorType::known(DType::U8, &[]),
            ]),
            QuantOp::QLinearMatMul => {
                let b = req_ty(name, inputs, 3)?;
                let dt = inputs.get(7).and_then(|i| i.ty).map(|t| t.dtype).unwrap_or(x.dtype);
                let shape = match (x.concrete(), b.concrete()) {
                    (Some(a), Some(b)) => Some(qlinear::matmul_shape(name, &a, &b)?.0),
                    _ => None,
                };
                Ok(vec![match shape {
                    Some(s) => TensorType::known(dt, &s),
                    None => TensorType::unknown(dt),
                }])
            }
            QuantOp::QLinearConv { .. } => {
                let w = req_ty(name, inputs, 3)?;
                let dt = inputs.get(7).and_then(|i| i.ty).map(|t| t.dtype).unwrap_or(x.dtype);
                let out = match (x.concrete(), w.concrete()) {
                    (Some(xs), Some(ws)) => TensorType::known(dt, &qlinear::conv_geometry(self, &xs, &ws)?.out_shape),
                    _ => TensorType { dtype: dt, shape: x.rank().map(|r| vec![crate::shape::Dim::Unknown; r]) },
                };
                Ok(vec![out])
            }
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        match self {
            QuantOp::QuantizeLinear { axis, block_size, output_dtype } => {
                linear::quantize(inputs, *axis, *block_size, *output_dtype).map(|t| vec![t])
            }
            QuantOp::DequantizeLinear { axis, block_size, output_dtype } => {
                linear::dequantize(inputs, *axis, *block_size, *output_dtype).map(|t| vec![t])
            }
            QuantOp::DynamicQuantizeLinear => linear::dynamic_quantize(inputs),
            QuantOp::QLinearMatMul => qlinear::qlinear_matmul(inputs).map(|t| vec![t]),
            QuantOp::QLinearConv { .. } => qlinear::qlinear_conv(self, inputs).map(|t| vec![t]),
        }
    }
}

/// Round half to even, then clamp into the range of the integer dtype `dt` and build the tensor.
fn requantize(op: &str, shape: Vec<usize>, vals: Vec<f64>, dt: DType) -> Result<Tensor> {
    fn build<T: crate::tensor::HostElem>(shape: Vec<usize>, vals: Vec<f64>) -> Result<Tensor> {
        // `from_f64` saturates for integer types (Rust `as`), which is the clamp we need.
        Tensor::from_vec(shape, vals.into_iter().map(|v| T::from_f64(v.round_ties_even())).collect::<Vec<T>>())
    }
    match dt {
        DType::U8 => build::<u8>(shape, vals),
        DType::I8 => build::<i8>(shape, vals),
        DType::U16 => build::<u16>(shape, vals),
        DType::I16 => build::<i16>(shape, vals),
        DType::I32 => build::<i32>(shape, vals),
        DType::U32 => build::<u32>(shape, vals),
        _ => Err(KernelError::unsupported(op, format!("quantised dtype {dt}"))),
    }
}

#[cfg(test)]
mod tests;
