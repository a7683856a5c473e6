//! Launches built on the generic strided copy (`shaders/copy_strided.wgsl`, shader 0): every
//! op here describes its output as a per-dim walk over the source and records one dispatch
//! per source tensor.

use super::{i64_param, infer_shape, invalid};
use crate::device::{DeviceError, Result};
use crate::lowering::pad_code;
pub(super) use crate::lowering::{simplify, strides, with_dense_dst, Dim};
use crate::wgpu::launch::{Buf, LaunchCx};
use suanli_kernels::ops::layout::{PadMode, SliceAttrs};
use suanli_kernels::ops::LayoutOp;
use suanli_kernels::DType;

/// Where a copy's out-of-source elements come from.
#[derive(Clone, Copy, Debug)]
pub(super) enum Fill {
    /// Element 0 of a buffer of the same dtype.
    Buf(Buf),
    /// A float converted to `T` in the shader.
    Value(f32),
}

/// Record one strided copy from `src` into `out`.
pub(super) fn record(
    cx: &mut LaunchCx,
    src: Buf,
    fill: Fill,
    out: Buf,
    mut base: i64,
    dst_base: usize,
    dims: Vec<Dim>,
) -> Result<()> {
    let n: usize = dims.iter().map(|d| d.n).product();
    if n == 0 {
        return Ok(());
    }
    if n > i32::MAX as usize {
        return Err(invalid("copy", "more than 2^31 elements"));
    }
    let dims = simplify(dims, &mut base);
    let (fill_buf, flag, value) = match fill {
        Fill::Buf(b) => (b, 0u32, 0u32),
        Fill::Value(v) => (src, 1, v.to_bits()),
    };
    let mut p = vec![
        n as u32,
        dims.len() as u32,
        i64_param(base)?,
        dst_base as u32,
        flag,
        value,
    ];
    for d in &dims {
        p.extend([
            d.n as u32,
            i64_param(d.stride)?,
            i64_param(d.start)?,
            i64_param(d.step)?,
            d.len as u32,
            d.mode,
            d.dst as u32,
        ]);
    }
    cx.dispatch_1d(0, p, &[src, fill_buf, out], n);
    Ok(())
}

/// Copy input 0 permuted: `out[..] = view(x as `view`)[perm]`, output shape `out_shape`.
fn permuted(cx: &mut LaunchCx, view: &[usize], perm: &[usize], out_shape: Vec<usize>) -> Result<()> {
    let st = strides(view);
    let dims = perm.iter().map(|&p| Dim::direct(view[p], st[p] as i64)).collect();
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, out_shape)?;
    record(cx, Buf::In(0), Fill::Value(0.0), out, 0, 0, with_dense_dst(dims))
}

pub(super) use crate::lowering::norm_axis;

/// Transpose.
pub(super) fn transpose(cx: &mut LaunchCx, perm: Option<&[i64]>) -> Result<()> {
    let shape = cx.shape(0)?.to_vec();
    let r = shape.len();
    let p = crate::lowering::permutation(perm, r)?;
    let out_shape = p.iter().map(|&a| shape[a]).collect();
    permuted(cx, &shape, &p, out_shape)
}

fn nchw(op: &str, cx: &LaunchCx) -> Result<[usize; 4]> {
    match *cx.shape(0)? {
        [n, c, h, w] => Ok([n, c, h, w]),
        ref s => Err(invalid(op, format!("expected a 4-D input, found {s:?}"))),
    }
}

/// DepthToSpace (DCR or CRD).
pub(super) fn depth_to_space(cx: &mut LaunchCx, b: usize, crd: bool) -> Result<()> {
    let [n, c, h, w] = nchw("DepthToSpace", cx)?;
    if b == 0 || c % (b * b) != 0 {
        return Err(invalid(
            "DepthToSpace",
            format!("channels {c} are not divisible by {b}²"),
        ));
    }
    let c2 = c / (b * b);
    let out = vec![n, c2, h * b, w * b];
    if crd {
        permuted(cx, &[n, c2, b, b, h, w], &[0, 1, 4, 2, 5, 3], out)
    } else {
        permuted(cx, &[n, b, b, c2, h, w], &[0, 3, 4, 1, 5, 2], out)
    }
}

/// SpaceToDepth.
pub(super) fn space_to_depth(cx: &mut LaunchCx, b: usize) -> Result<()> {
    let [n, c, h, w] = nchw("SpaceToDepth", cx)?;
    if b == 0 || h % b != 0 || w % b != 0 {
        return Err(invalid("SpaceToDepth", format!("{h}x{w} is not divisible by {b}")));
    }
    let out = vec![n, c * b * b, h / b, w / b];
    permuted(cx, &[n, c, h / b, b, w / b, b], &[0, 3, 5, 1, 2, 4], out)
}

/// Tile: each dim wraps around the source.
pub(super) fn tile(cx: &mut LaunchCx, op: &LayoutOp) -> Result<()> {
    let out_shape = infer_shape(cx, op, 0)?;
    let shape = cx.shape(0)?.to_vec();
    if out_shape.len() != shape.len() {
        return Err(invalid("Tile", "repeats do not match the rank"));
    }
    let st = strides(&shape);
    let dims = (0..shape.len())
        .map(|d| Dim {
            len: shape[d],
            mode: 4,
            ..Dim::direct(out_shape[d], st[d] as i64)
        })
        .collect();
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, out_shape)?;
    record(cx, Buf::In(0), Fill::Value(0.0), out, 0, 0, with_dense_dst(dims))
}

/// Expand: broadcast dims read with stride 0.
pub(super) fn expand(cx: &mut LaunchCx, op: &LayoutOp) -> Result<()> {
    let out_shape = infer_shape(cx, op, 0)?;
    let shape = cx.shape(0)?.to_vec();
    let st = strides(&shape);
    let lead = out_shape.len().saturating_sub(shape.len());
    let dims = (0..out_shape.len())
        .map(|d| {
            let s = match d.checked_sub(lead) {
                Some(i) if shape[i] != 1 => st[i] as i64,
                _ => 0,
            };
            Dim::direct(out_shape[d], s)
        })
        .collect();
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, out_shape)?;
    record(cx, Buf::In(0), Fill::Value(0.0), out, 0, 0, with_dense_dst(dims))
}

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
    let x_empty = shape.contains(&0);
    let out = cx.output(dt, out_shape)?;
    let src = match fill {
        Fill::Buf(f) if x_empty => f,
        _ => Buf::In(0),
    };
    if x_empty && matches!(fill, Fill::Value(_)) && cx.repr(0)?.size() == 8 {
        return Err(DeviceError::Unsupported {
            kernel: op.into(),
            reason: "padding an empty 64-bit tensor with an attribute value".into(),
        });
    }
    record(cx, src, fill, out, 0, 0, with_dense_dst(dims))
}

/// Pad (constant/reflect/edge/wrap; pads, value and axes as attributes or inputs).
pub(super) fn pad(cx: &mut LaunchCx, mode: PadMode, pads_attr: Option<&[i64]>, value: f32) -> Result<()> {
    const OP: &str = "Pad";
    let rank = cx.shape(0)?.len();
    let (pads, fill, ax) = match pads_attr {
        Some(p) => (p.to_vec(), Fill::Value(value), None),
        None => {
            let pads = cx.value(1)?.to_i64_vec().map_err(DeviceError::Kernel)?;
            let fill = if cx.has(2) && !cx.shape(2)?.contains(&0) {
                if cx.dtype(2)? != cx.dtype(0)? {
                    return Err(invalid(OP, "constant_value must have the input's dtype"));
                }
                Fill::Buf(Buf::In(2))
            } else {
                Fill::Value(0.0)
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
    pad_dims(cx, OP, &b, &e, PadMode::Constant, Fill::Value(0.0))
}

pub(super) use suanli_kernels::ops::layout::slice_axis;

/// Slice (attributes or inputs 1..=4; negative steps; clamping).
pub(super) fn slice(cx: &mut LaunchCx, attrs: Option<&SliceAttrs>) -> Result<()> {
    const OP: &str = "Slice";
    let ints = |cx: &LaunchCx, i: usize| -> Result<Option<Vec<i64>>> {
        if cx.has(i) {
            Ok(Some(cx.value(i)?.to_i64_vec().map_err(DeviceError::Kernel)?))
        } else {
            Ok(None)
        }
    };
    let (starts, ends, axes, steps) = match attrs {
        Some(a) => (a.starts.clone(), a.ends.clone(), a.axes.clone(), None),
        None => (
            ints(cx, 1)?.ok_or_else(|| invalid(OP, "missing starts"))?,
            ints(cx, 2)?.ok_or_else(|| invalid(OP, "missing ends"))?,
            ints(cx, 3)?,
            ints(cx, 4)?,
        ),
    };
    let shape = cx.shape(0)?.to_vec();
    let rank = shape.len();
    let k = starts.len();
    let axes: Vec<usize> = match axes {
        Some(a) if a.len() == k => a.iter().map(|&v| norm_axis(OP, v, rank)).collect::<Result<_>>()?,
        None if k <= rank => (0..k).collect(),
        _ => return Err(invalid(OP, "axes/starts lengths differ or exceed the rank")),
    };
    let steps = steps.unwrap_or_else(|| vec![1; k]);
    if ends.len() != k || steps.len() != k || steps.contains(&0) {
        return Err(invalid(OP, "ends/steps must match starts, and steps must be non-zero"));
    }
    for i in 1..k {
        if axes[..i].contains(&axes[i]) {
            return Err(invalid(OP, "repeated axes"));
        }
    }
    let st = strides(&shape);
    let mut dims: Vec<Dim> = (0..rank).map(|d| Dim::direct(shape[d], st[d] as i64)).collect();
    for (i, &a) in axes.iter().enumerate() {
        let (s, n) = slice_axis(shape[a], starts[i], ends[i], steps[i]);
        dims[a].n = n;
        dims[a].start = s as i64;
        dims[a].step = steps[i];
    }
    let out_shape: Vec<usize> = dims.iter().map(|d| d.n).collect();
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, out_shape)?;
    record(cx, Buf::In(0), Fill::Value(0.0), out, 0, 0, with_dense_dst(dims))
}

/// Split: the output shapes come from inference; one copy per output.
pub(super) fn split(cx: &mut LaunchCx, op: &LayoutOp, axis: i64) -> Result<()> {
    let outs = cx.infer(&suanli_kernels::Op::Layout(op.clone()))?;
    let shape = cx.shape(0)?.to_vec();
    let a = norm_axis("Split", axis, shape.len())?;
    let st = strides(&shape);
    let mut bufs = Vec::with_capacity(outs.len());
    for (dt, s) in &outs {
        bufs.push((cx.output(*dt, s.clone())?, s.clone()));
    }
    let mut off = 0usize;
    for (buf, s) in bufs {
        let dims = (0..shape.len()).map(|d| Dim::direct(s[d], st[d] as i64)).collect();
        record(
            cx,
            Buf::In(0),
            Fill::Value(0.0),
            buf,
            (off * st[a]) as i64,
            0,
            with_dense_dst(dims),
        )?;
        off += s[a];
    }
    Ok(())
}

/// Concat: one copy per input into its slab of the output.
pub(super) fn concat(cx: &mut LaunchCx, axis: i64) -> Result<()> {
    const OP: &str = "Concat";
    let k = cx.num_inputs();
    let first = cx.shape(0)?.to_vec();
    let dt = cx.dtype(0)?;
    let a = norm_axis(OP, axis, first.len())?;
    let mut out_shape = first.clone();
    out_shape[a] = 0;
    for i in 0..k {
        let s = cx.shape(i)?;
        if cx.dtype(i)? != dt || s.len() != first.len() || s.iter().enumerate().any(|(d, &v)| d != a && v != first[d]) {
            return Err(invalid(
                OP,
                format!("input {i} {s:?} does not match {first:?} outside axis {a}"),
            ));
        }
        out_shape[a] += s[a];
    }
    let ost = strides(&out_shape);
    let out = cx.output(dt, out_shape)?;
    let mut off = 0usize;
    for i in 0..k {
        let s = cx.shape(i)?.to_vec();
        let st = strides(&s);
        let dims = (0..s.len())
            .map(|d| Dim {
                dst: ost[d],
                ..Dim::direct(s[d], st[d] as i64)
            })
            .collect();
        record(cx, Buf::In(i), Fill::Value(0.0), out, 0, off * ost[a], dims)?;
        off += s[a];
    }
    Ok(())
}

/// Dropout in inference mode: output 0 is a view of the input, the mask all ones (shader 1).
pub(super) fn dropout(cx: &mut LaunchCx, op: &LayoutOp) -> Result<()> {
    let LayoutOp::Dropout {
        ratio,
        training,
        mask_bool,
    } = op
    else {
        return Err(invalid("Dropout", "not a dropout"));
    };
    let ratio = if cx.has(1) {
        cx.value(1)?.scalar_f64().map_err(DeviceError::Kernel)?
    } else {
        *ratio as f64
    };
    let training = if cx.has(2) {
        cx.value(2)?.scalar_f64().map_err(DeviceError::Kernel)? != 0.0
    } else {
        *training
    };
    if training && ratio > 0.0 {
        return Err(DeviceError::Unsupported {
            kernel: "Dropout".into(),
            reason: "training mode with a non-zero ratio".into(),
        });
    }
    let shape = cx.shape(0)?.to_vec();
    let n: usize = shape.iter().product();
    cx.alias(0, shape.clone())?;
    let mask_dt = if *mask_bool { DType::Bool } else { cx.dtype(0)? };
    let mask = cx.output(mask_dt, shape)?;
    cx.dispatch_1d(1, vec![n as u32], &[mask], n);
    Ok(())
}

/// Trilu: masking copy over the last two dims (shader 1).
pub(super) fn trilu(cx: &mut LaunchCx, upper: bool) -> Result<()> {
    let shape = cx.shape(0)?.to_vec();
    let r = shape.len();
    if r < 2 {
        return Err(invalid("Trilu", format!("input must have rank >= 2, found {shape:?}")));
    }
    let k = if cx.has(1) {
        cx.value(1)?.scalar_i64().map_err(DeviceError::Kernel)?
    } else {
        0
    };
    let (rows, cols) = (shape[r - 2], shape[r - 1]);
    // Diagonals beyond the matrix behave like the nearest one that still misses (or hits) it all.
    let k = k.clamp(-(rows as i64) - 1, cols as i64 + 1);
    let n: usize = shape.iter().product();
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, shape)?;
    let p = vec![n as u32, rows as u32, cols as u32, i64_param(k)?, upper as u32];
    cx.dispatch_1d(1, p, &[Buf::In(0), out], n);
    Ok(())
}

/// ReverseSequence over dims 0 and 1 (shader 1).
pub(super) fn reverse_sequence(cx: &mut LaunchCx, batch_axis: i64, time_axis: i64) -> Result<()> {
    const OP: &str = "ReverseSequence";
    let shape = cx.shape(0)?.to_vec();
    if shape.len() < 2 {
        return Err(invalid(OP, "input must have rank >= 2"));
    }
    let (ba, ta) = (
        norm_axis(OP, batch_axis, shape.len())?,
        norm_axis(OP, time_axis, shape.len())?,
    );
    if ba > 1 || ta > 1 || ba == ta {
        return Err(invalid(OP, "batch_axis and time_axis must be 0 and 1 in some order"));
    }
    let (nb, nt) = (shape[ba], shape[ta]);
    let lens = cx.value(1)?.to_i64_vec().map_err(DeviceError::Kernel)?;
    if lens.len() != nb || lens.iter().any(|&l| l < 0 || l as usize > nt) {
        return Err(invalid(
            OP,
            format!("sequence_lens {lens:?} do not fit batch {nb} x time {nt}"),
        ));
    }
    let n: usize = shape.iter().product();
    let inner: usize = shape[2..].iter().product();
    let mut p = vec![
        n as u32,
        shape[0] as u32,
        shape[1] as u32,
        inner.max(1) as u32,
        (ba == 0) as u32,
    ];
    p.extend(lens.iter().map(|&l| l as u32));
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, shape)?;
    cx.dispatch_1d(1, p, &[Buf::In(0), out], n);
    Ok(())
}
