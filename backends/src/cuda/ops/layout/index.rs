//! Index-driven launches (source 1 of the kernel): Gather, GatherElements, GatherND,
//! ScatterElements, ScatterND, OneHot. Negative indices wrap like on the CPU; out-of-range
//! indices (a CPU error) are clamped on the device, so no access leaves its buffer.

use super::copy::{norm_axis, record, strides, Dim, Fill, MAX_RANK};
use super::invalid;
use crate::cuda::launch::{Arg, Buf, LaunchCx};
use crate::device::{DeviceError, Result};

/// Words of `SuanliGatherElementsParams` / `SuanliScatterElementsParams` /
/// `SuanliGatherNdParams` / `SuanliScatterNdParams`.
pub(super) const GATHER_ELEMENTS_WORDS: usize = 4 + 2 * MAX_RANK;
pub(super) const SCATTER_ELEMENTS_WORDS: usize = 4 + 3 * MAX_RANK;
pub(super) const GATHER_ND_WORDS: usize = 5 + 2 * MAX_RANK;
pub(super) const SCATTER_ND_WORDS: usize = 3 + 2 * MAX_RANK;

fn words(mut w: Vec<i64>, len: usize) -> Arg {
    w.resize(len, 0);
    Arg::Words(w)
}

fn check_rank(op: &str, rank: usize) -> Result<()> {
    if rank > MAX_RANK {
        return Err(DeviceError::Unsupported {
            kernel: op.into(),
            reason: format!("rank {rank} (the CUDA kernel walks at most {MAX_RANK} dims)"),
        });
    }
    Ok(())
}

/// Gather along `axis`.
pub(super) fn gather(cx: &mut LaunchCx, axis: i64) -> Result<()> {
    let s = cx.shape(0)?.to_vec();
    let is = cx.shape(1)?.to_vec();
    let a = norm_axis("Gather", axis, s.len())?;
    let mut shape = s[..a].to_vec();
    shape.extend_from_slice(&is);
    shape.extend_from_slice(&s[a + 1..]);
    let n: usize = shape.iter().product();
    let nidx: usize = is.iter().product();
    if s[a] == 0 && nidx > 0 {
        return Err(invalid("Gather", "indices into an empty axis"));
    }
    let inner: usize = s[a + 1..].iter().product();
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, shape);
    let args = vec![
        Arg::Ptr(Buf::In(0)),
        Arg::Ptr(Buf::In(1)),
        Arg::Ptr(out),
        Arg::I64(n as i64),
        Arg::I64(inner.max(1) as i64),
        Arg::I64(nidx.max(1) as i64),
        Arg::I64(s[a] as i64),
    ];
    cx.kernel_1d(1, args, n);
    Ok(())
}

/// GatherElements along `axis`.
pub(super) fn gather_elements(cx: &mut LaunchCx, axis: i64) -> Result<()> {
    const OP: &str = "GatherElements";
    let s = cx.shape(0)?.to_vec();
    let is = cx.shape(1)?.to_vec();
    let a = norm_axis(OP, axis, s.len())?;
    if is.len() != s.len() || (0..s.len()).any(|d| d != a && is[d] > s[d]) {
        return Err(invalid(
            OP,
            format!("indices shape {is:?} does not fit data shape {s:?}"),
        ));
    }
    check_rank(OP, s.len())?;
    let n: usize = is.iter().product();
    if s[a] == 0 && n > 0 {
        return Err(invalid(OP, "indices into an empty axis"));
    }
    let st = strides(&s);
    let r = s.len();
    let mut w = vec![n as i64, r as i64, (r - 1 - a) as i64, s[a] as i64];
    for d in (0..r).rev() {
        w.extend([is[d].max(1) as i64, st[d] as i64]);
    }
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, is);
    let args = vec![
        words(w, GATHER_ELEMENTS_WORDS),
        Arg::Ptr(Buf::In(0)),
        Arg::Ptr(Buf::In(1)),
        Arg::Ptr(out),
    ];
    cx.kernel_1d(1, args, n);
    Ok(())
}

/// Validated ND addressing: tuple length, chunk, tuple count and per-position (dim, stride).
struct Nd {
    k: usize,
    chunk: usize,
    tuples: usize,
    dims: Vec<(usize, usize)>,
}

fn nd(op: &str, data: &[usize], is: &[usize], b: usize) -> Result<Nd> {
    let (q, r) = (is.len(), data.len());
    if q < 1 || b >= q || (b > 0 && b >= r) {
        return Err(invalid(op, format!("batch_dims {b} is invalid for ranks {r} and {q}")));
    }
    let k = is[q - 1];
    if b + k > r || is[..b] != data[..b] {
        return Err(invalid(
            op,
            format!("indices {is:?} do not fit data {data:?} with batch_dims {b}"),
        ));
    }
    check_rank(op, k)?;
    let st = strides(data);
    Ok(Nd {
        k,
        chunk: data[b + k..].iter().product(),
        tuples: is[..q - 1].iter().product(),
        dims: (0..k).map(|j| (data[b + j], st[b + j])).collect(),
    })
}

/// GatherND with `batch_dims`.
pub(super) fn gather_nd(cx: &mut LaunchCx, b: usize) -> Result<()> {
    const OP: &str = "GatherND";
    let s = cx.shape(0)?.to_vec();
    let is = cx.shape(1)?.to_vec();
    let g = nd(OP, &s, &is, b)?;
    if g.dims.iter().any(|&(d, _)| d == 0) && g.tuples > 0 {
        return Err(invalid(OP, "indices into an empty dim"));
    }
    let mut shape = is[..is.len() - 1].to_vec();
    shape.extend_from_slice(&s[b + g.k..]);
    let n: usize = shape.iter().product();
    let batches: usize = s[..b].iter().product();
    let per_batch = g.tuples.checked_div(batches).unwrap_or(0);
    let batch_stride: usize = s[b..].iter().product();
    let mut w = vec![
        n as i64,
        g.chunk.max(1) as i64,
        g.k as i64,
        per_batch.max(1) as i64,
        batch_stride as i64,
    ];
    for (d, st) in &g.dims {
        w.extend([*d as i64, *st as i64]);
    }
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, shape);
    let args = vec![
        words(w, GATHER_ND_WORDS),
        Arg::Ptr(Buf::In(0)),
        Arg::Ptr(Buf::In(1)),
        Arg::Ptr(out),
    ];
    cx.kernel_1d(1, args, n);
    Ok(())
}

/// Output 0 as a copy of input 0 (the data scatters write into).
fn copy_of_data(cx: &mut LaunchCx, op: &str) -> Result<Buf> {
    let s = cx.shape(0)?.to_vec();
    let dt = cx.dtype(0)?;
    if cx.dtype(2)? != dt {
        return Err(invalid(op, "data and updates have different dtypes"));
    }
    let n: usize = s.iter().product();
    let out = cx.output(dt, s);
    let dims = vec![Dim {
        dst: 1,
        ..Dim::direct(n, 1)
    }];
    record(cx, dt, Buf::In(0), Fill::Bits(0), out, 0, 0, dims)?;
    Ok(out)
}

/// ScatterElements along `axis` (the reduction is compiled into the source).
pub(super) fn scatter_elements(cx: &mut LaunchCx, axis: i64) -> Result<()> {
    const OP: &str = "ScatterElements";
    let s = cx.shape(0)?.to_vec();
    let is = cx.shape(1)?.to_vec();
    let a = norm_axis(OP, axis, s.len())?;
    if is.len() != s.len() || cx.shape(2)? != is.as_slice() || (0..s.len()).any(|d| d != a && is[d] > s[d]) {
        return Err(invalid(OP, format!("indices/updates {is:?} do not fit data {s:?}")));
    }
    check_rank(OP, s.len())?;
    let total: usize = is.iter().product();
    if s[a] == 0 && total > 0 {
        return Err(invalid(OP, "indices into an empty axis"));
    }
    let out = copy_of_data(cx, OP)?;
    let lines = total.checked_div(is[a]).unwrap_or(0);
    let (us, ds) = (strides(&is), strides(&s));
    let r = s.len();
    let mut w = vec![lines as i64, r as i64, (r - 1 - a) as i64, s[a] as i64];
    for d in (0..r).rev() {
        w.extend([is[d].max(1) as i64, us[d] as i64, ds[d] as i64]);
    }
    let args = vec![
        words(w, SCATTER_ELEMENTS_WORDS),
        Arg::Ptr(Buf::In(1)),
        Arg::Ptr(Buf::In(2)),
        Arg::Ptr(out),
    ];
    cx.kernel_1d(1, args, lines);
    Ok(())
}

/// ScatterND (the reduction is compiled into the source).
pub(super) fn scatter_nd(cx: &mut LaunchCx) -> Result<()> {
    const OP: &str = "ScatterND";
    let s = cx.shape(0)?.to_vec();
    let is = cx.shape(1)?.to_vec();
    let g = nd(OP, &s, &is, 0)?;
    let mut expect = is[..is.len() - 1].to_vec();
    expect.extend_from_slice(&s[g.k..]);
    if cx.shape(2)? != expect.as_slice() {
        return Err(invalid(OP, format!("updates must have shape {expect:?}")));
    }
    if g.dims.iter().any(|&(d, _)| d == 0) && g.tuples > 0 {
        return Err(invalid(OP, "indices into an empty dim"));
    }
    let out = copy_of_data(cx, OP)?;
    if g.tuples == 0 {
        return Ok(());
    }
    let mut w = vec![g.chunk as i64, g.k as i64, g.tuples as i64];
    for (d, st) in &g.dims {
        w.extend([*d as i64, *st as i64]);
    }
    let args = vec![
        words(w, SCATTER_ND_WORDS),
        Arg::Ptr(Buf::In(1)),
        Arg::Ptr(Buf::In(2)),
        Arg::Ptr(out),
    ];
    cx.kernel_1d(1, args, g.chunk);
    Ok(())
}

/// OneHot along `axis` of the output.
pub(super) fn one_hot(cx: &mut LaunchCx, axis: i64) -> Result<()> {
    const OP: &str = "OneHot";
    let is = cx.shape(0)?.to_vec();
    let depth = cx.value(1)?.scalar_f64().map_err(DeviceError::Kernel)?;
    if !(1.0..1e9).contains(&depth) {
        return Err(invalid(OP, format!("invalid depth {depth}")));
    }
    if cx.shape(2)?.iter().product::<usize>() != 2 {
        return Err(invalid(OP, "values must hold [off_value, on_value]"));
    }
    let depth = depth as usize;
    let r = is.len() as i64 + 1;
    if axis < -r || axis >= r {
        return Err(invalid(OP, format!("axis {axis} is out of range for output rank {r}")));
    }
    let a = if axis < 0 { axis + r } else { axis } as usize;
    let inner: usize = is[a..].iter().product();
    let mut shape = is.clone();
    shape.insert(a, depth);
    let n: usize = shape.iter().product();
    let dt = cx.dtype(2)?;
    let out = cx.output(dt, shape);
    let args = vec![
        Arg::Ptr(Buf::In(0)),
        Arg::Ptr(Buf::In(2)),
        Arg::Ptr(out),
        Arg::I64(n as i64),
        Arg::I64(inner.max(1) as i64),
        Arg::I64(depth as i64),
    ];
    cx.kernel_1d(1, args, n);
    Ok(())
}
