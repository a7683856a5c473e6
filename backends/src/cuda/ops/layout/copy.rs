//! Launches built on the generic strided copy (`shaders/copy_strided.cu`, source 0): every op
//! here describes its output as a per-dim walk over the source and records one launch per
//! source tensor (or a plain byte copy when the walk is contiguous).

use super::{infer_shape, invalid};
use crate::cuda::launch::{Arg, Buf, Copy, LaunchCx};
use crate::device::{DeviceError, Result};
pub(super) use crate::lowering::{simplify, strides, with_dense_dst, Dim};
use suanli_kernels::ops::layout::SliceAttrs;
use suanli_kernels::ops::LayoutOp;
use suanli_kernels::{DType, Tensor};

/// Dims the copy kernel walks.
pub(super) const MAX_RANK: usize = 8;
/// Words of `SuanliCopyParams`.
pub(super) const COPY_WORDS: usize = 6 + 7 * MAX_RANK;
/// Batch dims of the tiled copy, and the words of its `SuanliTileParams`.
const TILE_BATCH_DIMS: usize = 6;
const TILE_WORDS: usize = 7 + 3 * TILE_BATCH_DIMS;
/// Extent both tiled dims need for the tiled copy to pay off.
const TILE_MIN: usize = 16;

/// Where a copy's out-of-source elements come from.
#[derive(Clone, Copy, Debug)]
pub(super) enum Fill {
    /// Element 0 of a buffer of the same dtype.
    Buf(Buf),
    /// These bits (the element's, in the low bytes).
    Bits(i64),
}

/// Record one strided copy of elements of `dt` from `src` into `out`.
#[allow(clippy::too_many_arguments)]
pub(super) fn record(
    cx: &mut LaunchCx,
    dt: DType,
    src: Buf,
    fill: Fill,
    out: Buf,
    base: i64,
    dst_base: usize,
    dims: Vec<Dim>,
) -> Result<()> {
    record_with(cx, dt, src, fill, out, base, dst_base, dims, None)
}

/// The tiled copy's words for a plain permutation whose destination-contiguous and
/// source-contiguous dims differ and are both long enough, if `dims` is one.
fn tiled_words(dims: &[Dim], base: i64, dst_base: usize) -> Option<Vec<i64>> {
    if dst_base != 0 || dims.iter().any(|d| d.mode != 0 || d.stride < 0) {
        return None;
    }
    let a = dims.iter().position(|d| d.dst == 1)?;
    let b = dims.iter().position(|d| d.stride == 1)?;
    let rest: Vec<&Dim> = dims
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != a && i != b)
        .map(|(_, d)| d)
        .collect();
    if a == b || dims[a].n < TILE_MIN || dims[b].n < TILE_MIN || rest.len() > TILE_BATCH_DIMS {
        return None;
    }
    let batch: usize = rest.iter().map(|d| d.n).product();
    let (da, db) = (&dims[a], &dims[b]);
    let mut w = vec![
        da.n as i64,
        db.n as i64,
        da.stride,
        db.dst as i64,
        batch as i64,
        rest.len() as i64,
        base,
    ];
    for d in rest.iter().rev() {
        w.extend([d.n as i64, d.stride, d.dst as i64]);
    }
    w.resize(TILE_WORDS, 0);
    Some(w)
}

/// [`record`], using the tiled copy (source `tiled`) for transposes when the kernel has it.
#[allow(clippy::too_many_arguments)]
fn record_with(
    cx: &mut LaunchCx,
    dt: DType,
    src: Buf,
    fill: Fill,
    out: Buf,
    mut base: i64,
    dst_base: usize,
    dims: Vec<Dim>,
    tiled: Option<usize>,
) -> Result<()> {
    let n: usize = dims.iter().map(|d| d.n).product();
    if n == 0 {
        return Ok(());
    }
    let dims = simplify(dims, &mut base);
    let contiguous = match dims.as_slice() {
        [] => true,
        [d] => d.mode == 0 && d.stride == 1 && d.dst == 1,
        _ => false,
    };
    if contiguous && base >= 0 {
        let esz = dt.size();
        cx.copy(Copy {
            src,
            src_offset: base as usize * esz,
            dst: out,
            dst_offset: dst_base * esz,
            bytes: n * esz,
        });
        return Ok(());
    }
    if let (Some(t), Some(w)) = (tiled, tiled_words(&dims, base, dst_base)) {
        let tiles = ((w[0] + 31) / 32) * ((w[1] + 31) / 32) * w[4];
        let grid = tiles.min(65_536) as u32;
        cx.kernel(
            t,
            vec![Arg::Words(w), Arg::Ptr(src), Arg::Ptr(out)],
            [grid, 1, 1],
            [32, 8, 1],
            0,
        );
        return Ok(());
    }
    if dims.len() > MAX_RANK {
        return Err(DeviceError::Unsupported {
            kernel: "copy".into(),
            reason: format!("a strided copy over {} dims (at most {MAX_RANK})", dims.len()),
        });
    }
    let (fill_buf, mode, bits) = match fill {
        Fill::Buf(b) => (b, 0, 0),
        Fill::Bits(v) => (src, 1, v),
    };
    let mut w = vec![n as i64, dims.len() as i64, base, dst_base as i64, mode, bits];
    for d in dims.iter().rev() {
        w.extend([
            d.n as i64,
            d.stride,
            d.start,
            d.step,
            d.len as i64,
            d.mode as i64,
            d.dst as i64,
        ]);
    }
    w.resize(COPY_WORDS, 0);
    cx.kernel_1d(
        0,
        vec![Arg::Words(w), Arg::Ptr(src), Arg::Ptr(fill_buf), Arg::Ptr(out)],
        n,
    );
    Ok(())
}

/// Fill `n` elements of `out` (dtype `dt`) with `bits`: a copy whose only dim lies outside its
/// (empty) source.
pub(super) fn fill(cx: &mut LaunchCx, out: Buf, dt: DType, n: usize, bits: i64) -> Result<()> {
    let d = Dim {
        len: 0,
        mode: 1,
        dst: 1,
        ..Dim::direct(n, 0)
    };
    record(cx, dt, out, Fill::Bits(bits), out, 0, 0, vec![d])
}

/// Copy input 0 permuted: `out[..] = view(x as `view`)[perm]`, output shape `out_shape`.
fn permuted(cx: &mut LaunchCx, view: &[usize], perm: &[usize], out_shape: Vec<usize>) -> Result<()> {
    let st = strides(view);
    let dims = perm.iter().map(|&p| Dim::direct(view[p], st[p] as i64)).collect();
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, out_shape);
    let dims = with_dense_dst(dims);
    record_with(cx, dt, Buf::In(0), Fill::Bits(0), out, 0, 0, dims, Some(1))
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
            mode: if out_shape[d] == shape[d] { 0 } else { 4 },
            ..Dim::direct(out_shape[d], st[d] as i64)
        })
        .collect();
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, out_shape);
    record(cx, dt, Buf::In(0), Fill::Bits(0), out, 0, 0, with_dense_dst(dims))
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
    let out = cx.output(dt, out_shape);
    record(cx, dt, Buf::In(0), Fill::Bits(0), out, 0, 0, with_dense_dst(dims))
}

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
        let (s, n) = suanli_kernels::ops::layout::slice_axis(shape[a], starts[i], ends[i], steps[i]);
        dims[a].n = n;
        dims[a].start = s as i64;
        dims[a].step = steps[i];
    }
    let out_shape: Vec<usize> = dims.iter().map(|d| d.n).collect();
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, out_shape);
    record(cx, dt, Buf::In(0), Fill::Bits(0), out, 0, 0, with_dense_dst(dims))
}

/// Split: the output shapes come from inference; one copy per output.
pub(super) fn split(cx: &mut LaunchCx, op: &LayoutOp, axis: i64) -> Result<()> {
    let outs = cx.infer(&suanli_kernels::Op::Layout(op.clone()))?;
    let shape = cx.shape(0)?.to_vec();
    let a = norm_axis("Split", axis, shape.len())?;
    let st = strides(&shape);
    let dt = cx.dtype(0)?;
    let mut bufs = Vec::with_capacity(outs.len());
    for (odt, s) in &outs {
        if s.len() != shape.len() {
            return Err(invalid("Split", "inference gave an output of another rank"));
        }
        bufs.push((cx.output(*odt, s.clone()), s.clone()));
    }
    let mut off = 0usize;
    for (buf, s) in bufs {
        if off + s[a] > shape[a] {
            return Err(invalid("Split", "the parts exceed the split axis"));
        }
        let dims = (0..shape.len()).map(|d| Dim::direct(s[d], st[d] as i64)).collect();
        record(
            cx,
            dt,
            Buf::In(0),
            Fill::Bits(0),
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
    let out = cx.output(dt, out_shape);
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
        record(cx, dt, Buf::In(i), Fill::Bits(0), out, 0, off * ost[a], dims)?;
        off += s[a];
    }
    Ok(())
}

/// Dropout in inference mode: output 0 is a view of the input, the mask all ones.
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
    let one = super::bits_of(&Tensor::scalar(1.0f64), mask_dt).map_err(|e| invalid("Dropout", e))?;
    let mask = cx.output(mask_dt, shape);
    fill(cx, mask, mask_dt, n, one)
}

/// Trilu: masking copy over the last two dims (source 1).
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
    let n: usize = shape.iter().product();
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, shape);
    let args = vec![
        Arg::Ptr(Buf::In(0)),
        Arg::Ptr(out),
        Arg::I64(n as i64),
        Arg::I64(rows.max(1) as i64),
        Arg::I64(cols.max(1) as i64),
        Arg::I64(k),
        Arg::I32(upper as i32),
    ];
    cx.kernel_1d(1, args, n);
    Ok(())
}

/// ReverseSequence over dims 0 and 1 (source 1; the lengths stay on the device, clamped to
/// the time extent).
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
    let nb = shape[ba];
    if cx.shape(1)?.iter().product::<usize>() != nb {
        return Err(invalid(OP, format!("sequence_lens must have {nb} entries")));
    }
    let n: usize = shape.iter().product();
    let inner: usize = shape[2..].iter().product();
    let dt = cx.dtype(0)?;
    let (d0, d1) = (shape[0], shape[1]);
    let out = cx.output(dt, shape);
    let args = vec![
        Arg::Ptr(Buf::In(0)),
        Arg::Ptr(Buf::In(1)),
        Arg::Ptr(out),
        Arg::I64(n as i64),
        Arg::I64(d0 as i64),
        Arg::I64(d1.max(1) as i64),
        Arg::I64(inner.max(1) as i64),
        Arg::I32((ba == 0) as i32),
    ];
    cx.kernel_1d(1, args, n);
    Ok(())
}
