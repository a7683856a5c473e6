//! Index-driven launches (shader 1 of the kernel): Gather, GatherElements, GatherND,
//! ScatterElements, ScatterND, OneHot. Negative indices wrap like on the CPU; out-of-range
//! indices (a CPU error) are clamped on the device.

use super::copy::{norm_axis, record, strides, with_dense_dst, Dim, Fill};
use super::invalid;
use crate::device::{DeviceError, Result};
use crate::wgpu::launch::{Buf, LaunchCx};

fn u32s(v: usize) -> u32 {
    v as u32
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
    let out = cx.output(dt, shape)?;
    let p = vec![u32s(n), u32s(inner.max(1)), u32s(nidx.max(1)), u32s(s[a])];
    cx.dispatch_1d(1, p, &[Buf::In(0), Buf::In(1), out], n);
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
    let n: usize = is.iter().product();
    if s[a] == 0 && n > 0 {
        return Err(invalid(OP, "indices into an empty axis"));
    }
    let st = strides(&s);
    let mut p = vec![u32s(n), u32s(s.len()), u32s(a), u32s(s[a])];
    for d in 0..s.len() {
        p.extend([u32s(is[d]), u32s(st[d])]);
    }
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, is)?;
    cx.dispatch_1d(1, p, &[Buf::In(0), Buf::In(1), out], n);
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
    let mut p = vec![
        u32s(n),
        u32s(g.chunk.max(1)),
        u32s(g.k),
        u32s(per_batch),
        u32s(batch_stride),
    ];
    for (d, st) in &g.dims {
        p.extend([u32s(*d), u32s(*st)]);
    }
    let dt = cx.dtype(0)?;
    let out = cx.output(dt, shape)?;
    cx.dispatch_1d(1, p, &[Buf::In(0), Buf::In(1), out], n);
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
    let out = cx.output(dt, s)?;
    record(
        cx,
        Buf::In(0),
        Fill::Value(0.0),
        out,
        0,
        0,
        with_dense_dst(vec![Dim::direct(n, 1)]),
    )?;
    Ok(out)
}

/// ScatterElements along `axis` (the reduction is rendered into the shader).
pub(super) fn scatter_elements(cx: &mut LaunchCx, axis: i64) -> Result<()> {
    const OP: &str = "ScatterElements";
    let s = cx.shape(0)?.to_vec();
    let is = cx.shape(1)?.to_vec();
    let a = norm_axis(OP, axis, s.len())?;
    if is.len() != s.len() || cx.shape(2)? != is.as_slice() || (0..s.len()).any(|d| d != a && is[d] > s[d]) {
        return Err(invalid(OP, format!("indices/updates {is:?} do not fit data {s:?}")));
    }
    let total: usize = is.iter().product();
    if s[a] == 0 && total > 0 {
        return Err(invalid(OP, "indices into an empty axis"));
    }
    let out = copy_of_data(cx, OP)?;
    let lines = total.checked_div(is[a]).unwrap_or(0);
    let (us, ds) = (strides(&is), strides(&s));
    let mut p = vec![u32s(lines), u32s(s.len()), u32s(a), u32s(s[a])];
    for d in 0..s.len() {
        p.extend([u32s(is[d]), u32s(us[d]), u32s(ds[d])]);
    }
    cx.dispatch_1d(1, p, &[Buf::In(1), Buf::In(2), out], lines);
    Ok(())
}

/// ScatterND (the reduction is rendered into the shader).
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
    let mut p = vec![u32s(g.chunk), u32s(g.k), u32s(g.tuples)];
    for (d, st) in &g.dims {
        p.extend([u32s(*d), u32s(*st)]);
    }
    cx.dispatch_1d(1, p, &[Buf::In(1), Buf::In(2), out], g.chunk);
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
    let out = cx.output(dt, shape)?;
    cx.dispatch_1d(
        1,
        vec![u32s(n), u32s(inner.max(1)), u32s(depth)],
        &[Buf::In(0), Buf::In(2), out],
        n,
    );
    Ok(())
}
