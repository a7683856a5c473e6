//! Pad and CenterCropPad: per-dim walks whose out-of-source positions fill with a constant or
//! remap (edge, reflect, wrap) inside the strided copy.

use super::copy::{norm_axis, record, strides, with_dense_dst, Dim, Fill};
use super::invalid;
use crate::cuda::launch::{Buf, LaunchCx};
use crate::device::{DeviceError, Result};
use crate::lowering::pad_code;
use suanli_kernels::ops::layout::PadMode;
use suanli_kernels::Tensor;

/// Pad `x` by per-dim begins/ends in `mode`.
fn pad_dims(cx: &mut LaunchCx, op: &str, b: &[i64], e: &[i64], mode: PadMode, fill: Fill) -> Result<()> {
    let shape = cx.shape(0)?.to_vec();
    let st = strides(&shape);
    let mut dims = Vec::with_capacity(shape.len());
    let mut out_shape = Vec::with_capacity(shape.len());
    for d in 0..shape.len() {
        let n = shape[d] as i64 + b[d] + e[d];
        if n < 0 {
            return Err(invalid(
                op,
                format!("pads {},{} remove more than the dim {}", b[d], e[d], shape[d]),
            ));
        }
        if shape[d] == 0 && n > 0 && mode != PadMode::Constant {
            return Err(invalid(op, "cannot pad an empty dim in reflect/edge/wrap mode"));
        }
        let code = pad_code(mode, b[d], e[d]);
        dims.push(Dim {
            start: -b[d],
            len: shape[d],
            mode: code,
            ..Dim::direct(n as usize, st[d] as i64)
        });
        out_shape.push(n as usize);
    }
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, out_shape);
    record(cx, dt, Buf::In(0), fill, out, 0, 0, with_dense_dst(dims))
}

/// Pad (constant/reflect/edge/wrap; pads, value and axes as attributes or inputs).
pub(super) fn pad(cx: &mut LaunchCx, mode: PadMode, pads_attr: Option<&[i64]>, value: f32) -> Result<()> {
    const OP: &str = "Pad";
    let rank = cx.shape(0)?.len();
    let dt = cx.dtype(0)?;
    let (pads, fill, ax) = match pads_attr {
        Some(p) => {
            let bits = super::bits_of(&Tensor::scalar(value), dt).map_err(|e| invalid(OP, e))?;
            (p.to_vec(), Fill::Bits(bits), None)
        }
        None => {
            let pads = cx.value(1)?.to_i64_vec().map_err(DeviceError::Kernel)?;
            let fill = if cx.has(2) && !cx.shape(2)?.contains(&0) {
                if cx.dtype(2)? != dt {
                    return Err(invalid(OP, "constant_value must have the input's dtype"));
                }
                Fill::Buf(Buf::In(2))
            } else {
                Fill::Bits(0)
            };
            let ax = if cx.has(3) {
                Some(cx.value(3)?.to_i64_vec().map_err(DeviceError::Kernel)?)
            } else {
                None
            };
            (pads, fill, ax)
        }
    };
    let axes: Vec<usize> = match &ax {
        Some(a) => a.iter().map(|&v| norm_axis(OP, v, rank)).collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(invalid(OP, format!("pads {pads:?} must hold 2 values per padded axis")));
    }
    let (mut b, mut e) = (vec![0i64; rank], vec![0i64; rank]);
    for (i, &a) in axes.iter().enumerate() {
        b[a] = pads[i];
        e[a] = pads[i + axes.len()];
    }
    pad_dims(cx, OP, &b, &e, mode, fill)
}

/// CenterCropPad: symmetric crop or zero pad to the target shape.
pub(super) fn center_crop_pad(cx: &mut LaunchCx, ax: Option<&[i64]>) -> Result<()> {
    const OP: &str = "CenterCropPad";
    let shape = cx.shape(0)?.to_vec();
    let target = cx.value(1)?.to_i64_vec().map_err(DeviceError::Kernel)?;
    let axes: Vec<usize> = match ax {
        Some(a) => a
            .iter()
            .map(|&v| norm_axis(OP, v, shape.len()))
            .collect::<Result<_>>()?,
        None => (0..shape.len()).collect(),
    };
    if target.len() != axes.len() {
        return Err(invalid(OP, "target shape does not match the axes"));
    }
    let (mut b, mut e) = (vec![0i64; shape.len()], vec![0i64; shape.len()]);
    for (&a, &t) in axes.iter().zip(&target) {
        if t < 0 {
            return Err(invalid(OP, format!("negative dim {t}")));
        }
        let diff = shape[a] as i64 - t;
        if diff > 0 {
            b[a] = -(diff / 2);
            e[a] = -(diff - diff / 2);
        } else {
            b[a] = -diff / 2;
            e[a] = -diff - -diff / 2;
        }
    }
    pad_dims(cx, OP, &b, &e, PadMode::Constant, Fill::Bits(0))
}
