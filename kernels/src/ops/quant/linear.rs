//! QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear.

use super::requantize;
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::shape::norm_axis;
use crate::tensor::Tensor;
use crate::util::{opt, req};
use half::{bf16, f16};

/// Where each element of `x` finds its scale / zero point.
#[derive(Clone, Copy, Debug)]
enum ParamLayout {
    /// One value for the whole tensor.
    Tensor,
    /// One value per index along the axis.
    Axis { inner: usize, axis_len: usize },
    /// One value per block of `block` indices along the axis.
    Blocked { inner: usize, axis_len: usize, block: usize, s_axis_len: usize },
}

impl ParamLayout {
    /// Decide the layout from `x`'s shape and the scale's shape.
    fn new(op: &str, x: &[usize], scale: &[usize], axis: i64, block: usize) -> Result<ParamLayout> {
        let n: usize = scale.iter().product();
        if block == 0 {
            if n == 1 && scale.len() <= 1 {
                return Ok(ParamLayout::Tensor);
            }
            let ax = norm_axis(op, axis, x.len())?;
            if scale.len() != 1 || scale[0] != x[ax] {
                return Err(KernelError::invalid(op, format!("scale shape {scale:?} does not match axis {ax} of {x:?}")));
            }
            return Ok(ParamLayout::Axis { inner: x[ax + 1..].iter().product(), axis_len: x[ax] });
        }
        let ax = norm_axis(op, axis, x.len())?;
        let ok = scale.len() == x.len()
            && (0..x.len()).all(|d| if d == ax { scale[d] == x[d].div_ceil(block) } else { scale[d] == x[d] });
        if !ok {
            return Err(KernelError::invalid(op, format!("blocked scale shape {scale:?} does not fit {x:?} (axis {ax}, block {block})")));
        }
        Ok(ParamLayout::Blocked { inner: x[ax + 1..].iter().product(), axis_len: x[ax], block, s_axis_len: scale[ax] })
    }

    /// The parameter index for flat element `i` of `x`.
    #[inline]
    fn index(&self, i: usize) -> usize {
        match *self {
            ParamLayout::Tensor => 0,
            ParamLayout::Axis { inner, axis_len } => (i / inner) % axis_len,
            ParamLayout::Blocked { inner, axis_len, block, s_axis_len } => {
                let a = (i / inner) % axis_len;
                let o = i / (inner * axis_len);
                (o * s_axis_len + a / block) * inner + i % inner
            }
        }
    }
}

/// Round `v` to the precision of the float dtype `dt` (f16/bf16 arithmetic emulation).
fn round_to(v: f32, dt: DType) -> f32 {
    match dt {
        DType::F16 => f16::from_f32(v).to_f32(),
        DType::BF16 => bf16::from_f32(v).to_f32(),
        _ => v,
    }
}

/// Zero points as f64, checked against the scale's shape; zeros when absent.
fn zero_points(op: &str, zp: Option<&Tensor>, scale: &Tensor) -> Result<Vec<f64>> {
    match zp {
        None => Ok(vec![0.0; scale.len()]),
        Some(z) if z.len() == scale.len() => z.to_f64_vec(),
        Some(z) => Err(KernelError::invalid(op, format!("zero point shape {:?} differs from scale shape {:?}", z.shape(), scale.shape()))),
    }
}

/// QuantizeLinear.
pub(super) fn quantize(inputs: &[Option<&Tensor>], axis: i64, block: usize, out_dt: Option<DType>) -> Result<Tensor> {
    const OP: &str = "QuantizeLinear";
    let x = req(OP, inputs, 0)?;
    let scale = req(OP, inputs, 1)?;
    let zp = opt(inputs, 2);
    if !x.dtype().is_float() || !scale.dtype().is_float() {
        return Err(KernelError::invalid(OP, format!("x and scale must be floats, found {} and {}", x.dtype(), scale.dtype())));
    }
    let dt = zp.map(|z| z.dtype()).or(out_dt).unwrap_or(DType::U8);
    let layout = ParamLayout::new(OP, x.shape(), scale.shape(), axis, block)?;
    let sv = scale.to_f64_vec()?;
    let zv = zero_points(OP, zp, scale)?;
    let xv = x.to_f64_vec()?;
    let xdt = x.dtype();
    let vals = xv
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let k = layout.index(i);
            let q = if xdt == DType::F64 { v / sv[k] } else { round_to(v as f32 / sv[k] as f32, xdt) as f64 };
            q.round_ties_even() + zv[k]
        })
        .collect();
    requantize(OP, x.shape().to_vec(), vals, dt)
}

/// DequantizeLinear.
pub(super) fn dequantize(inputs: &[Option<&Tensor>], axis: i64, block: usize, out_dt: Option<DType>) -> Result<Tensor> {
    const OP: &str = "DequantizeLinear";
    let x = req(OP, inputs, 0)?;
    let scale = req(OP, inputs, 1)?;
    let zp = opt(inputs, 2);
    if !x.dtype().is_int() || !scale.dtype().is_float() {
        return Err(KernelError::invalid(OP, format!("x must be an integer and scale a float, found {} and {}", x.dtype(), scale.dtype())));
    }
    if let Some(z) = zp {
        if z.dtype() != x.dtype() {
            return Err(KernelError::invalid(OP, format!("zero point dtype {} differs from x dtype {}", z.dtype(), x.dtype())));
        }
    }
    let dt = out_dt.unwrap_or(scale.dtype());
    let layout = ParamLayout::new(OP, x.shape(), scale.shape(), axis, block)?;
    let sv = scale.to_f64_vec()?;
    let zv = zero_points(OP, zp, scale)?;
    let xv = x.to_f64_vec()?;
    if dt == DType::F64 {
        let y: Vec<f64> = xv.iter().enumerate().map(|(i, &v)| (v - zv[layout.index(i)]) * sv[layout.index(i)]).collect();
        return Tensor::from_vec(x.shape().to_vec(), y);
    }
    let y: Vec<f32> = xv
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let k = layout.index(i);
            (v as f32 - zv[k] as f32) * sv[k] as f32
        })
        .collect();
    Tensor::from_vec(x.shape().to_vec(), y)?.cast(dt)
}

/// DynamicQuantizeLinear: u8 output, f32 scale and u8 zero point computed from the data range.
pub(super) fn dynamic_quantize(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "DynamicQuantizeLinear";
    let x = req(OP, inputs, 0)?;
    if x.dtype() != DType::F32 {
        return Err(KernelError::invalid(OP, format!("x must be f32, found {}", x.dtype())));
    }
    let xv = x.as_slice::<f32>()?;
    let maxx = xv.iter().copied().fold(0f32, f32::max);
    let minx = xv.iter().copied().fold(0f32, f32::min);
    let range = if maxx == minx { 1.0f32 } else { maxx - minx };
    let scale = range / 255.0;
    let zp = (0.0 - minx / scale).clamp(0.0, 255.0).round_ties_even();
    let vals = xv.iter().map(|&v| (v / scale).round_ties_even() as f64 + zp as f64).collect();
    let y = requantize(OP, x.shape().to_vec(), vals, DType::U8)?;
    Ok(vec![y, Tensor::scalar(scale), Tensor::scalar(zp as u8)])
}
