//! ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
//! ReduceLogSumExp, ReduceSumSquare: reductions over a set of axes.
//!
//! The input is viewed as `[outer, red, inner]` after merging adjacent dims (reduced axes
//! that are not adjacent are first transposed to the end), so every case runs as either a
//! contiguous fold per output (`inner == 1`) or a row-accumulating fold (`inner > 1`).

use super::{for_rows, is_nan, Acc, ReduceKind};
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{norm_axis, Dim, TensorType};
use crate::tensor::{HostElem, Tensor, TensorData};
use crate::util::{opt, req, req_ty};
use std::borrow::Cow;

/// The ONNX op name of a reduction kind.
pub(super) fn kind_name(kind: ReduceKind) -> &'static str {
    match kind {
        ReduceKind::Sum => "ReduceSum",
        ReduceKind::Mean => "ReduceMean",
        ReduceKind::Max => "ReduceMax",
        ReduceKind::Min => "ReduceMin",
        ReduceKind::Prod => "ReduceProd",
        ReduceKind::L1 => "ReduceL1",
        ReduceKind::L2 => "ReduceL2",
        ReduceKind::LogSum => "ReduceLogSum",
        ReduceKind::LogSumExp => "ReduceLogSumExp",
        ReduceKind::SumSquare => "ReduceSumSquare",
    }
}

/// Check the input dtype is one this reduction accepts.
fn check_dtype(op: &str, kind: ReduceKind, dt: DType) -> Result<()> {
    let ok = dt.is_numeric() || (dt == DType::Bool && matches!(kind, ReduceKind::Max | ReduceKind::Min));
    if !ok {
        return Err(KernelError::unsupported(op, format!("input dtype {dt}")));
    }
    Ok(())
}

/// The sorted, deduplicated reduced axes. Empty `axes` means all axes, or none with `noop`.
pub(crate) fn resolve_axes(op: &str, axes: &[i64], rank: usize, noop: bool) -> Result<Vec<usize>> {
    if axes.is_empty() {
        return Ok(if noop { vec![] } else { (0..rank).collect() });
    }
    let mut out = axes
        .iter()
        .map(|&a| norm_axis(op, a, rank))
        .collect::<Result<Vec<_>>>()?;
    if rank == 0 {
        return Ok(vec![]);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The axes given by the attribute, else by the optional input 1 (absent: empty).
fn axes_from(attr: Option<&[i64]>, inputs: &[Option<&Tensor>]) -> Result<Vec<i64>> {
    match attr {
        Some(a) => Ok(a.to_vec()),
        None => match opt(inputs, 1) {
            Some(t) => t.to_i64_vec(),
            None => Ok(vec![]),
        },
    }
}

/// Static inference for a reduction.
pub(super) fn infer(
    op: &str,
    kind: ReduceKind,
    axes_attr: Option<&[i64]>,
    keepdims: bool,
    noop: bool,
    inputs: &[InferInput],
) -> Result<Vec<TensorType>> {
    let x = req_ty(op, inputs, 0)?;
    check_dtype(op, kind, x.dtype)?;
    let axes: Option<Vec<i64>> = match axes_attr {
        Some(a) => Some(a.to_vec()),
        None => match inputs.get(1).filter(|i| i.ty.is_some()) {
            None => Some(vec![]),
            Some(i) => i.value.map(|v| v.to_i64_vec()).transpose()?,
        },
    };
    let Some(shape) = &x.shape else {
        return Ok(vec![TensorType::unknown(x.dtype)]);
    };
    let Some(axes) = axes else {
        return Ok(vec![if keepdims {
            TensorType::with_rank(x.dtype, shape.len())
        } else {
            TensorType::unknown(x.dtype)
        }]);
    };
    let red = resolve_axes(op, &axes, shape.len(), noop)?;
    let mut dims = Vec::with_capacity(shape.len());
    for (i, d) in shape.iter().enumerate() {
        if !red.contains(&i) {
            dims.push(d.clone());
        } else if keepdims {
            dims.push(Dim::Known(1));
        }
    }
    Ok(vec![TensorType {
        dtype: x.dtype,
        shape: Some(dims),
    }])
}

/// Run a reduction node.
pub(super) fn run(
    op: &str,
    kind: ReduceKind,
    axes_attr: Option<&[i64]>,
    keepdims: bool,
    noop: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>> {
    let x = req(op, inputs, 0)?;
    let axes = axes_from(axes_attr, inputs)?;
    let red = resolve_axes(op, &axes, x.rank(), noop)?;
    Ok(vec![reduce_tensor(op, kind, x, &red, keepdims)?])
}

/// Reduce `x` over `axes` (sorted, unique, in range). Shared with the norm family.
pub(crate) fn reduce_tensor(op: &str, kind: ReduceKind, x: &Tensor, axes: &[usize], keepdims: bool) -> Result<Tensor> {
    check_dtype(op, kind, x.dtype())?;
    let shape = x.shape();
    let mut is_red = vec![false; shape.len()];
    for &a in axes {
        let slot = is_red
            .get_mut(a)
            .ok_or_else(|| KernelError::invalid(op, format!("axis {a} is out of range for rank {}", shape.len())))?;
        *slot = true;
    }
    let out_shape: Vec<usize> = shape
        .iter()
        .zip(&is_red)
        .filter_map(|(&d, &r)| match (r, keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    let (src, outer, red, inner) = layout(x, &is_red)?;
    let data = compute(op, kind, &src, outer, red, inner)?;
    Tensor::new(out_shape, data)
}

/// View `x` as `[outer, red, inner]`, transposing when the reduced axes are not adjacent.
fn layout<'a>(x: &'a Tensor, is_red: &[bool]) -> Result<(Cow<'a, Tensor>, usize, usize, usize)> {
    // Merge runs of dims with the same flag; size-1 dims do not affect the layout.
    let mut groups: Vec<(usize, bool)> = Vec::new();
    for (&d, &r) in x.shape().iter().zip(is_red) {
        if d == 1 {
            continue;
        }
        match groups.last_mut() {
            Some(g) if g.1 == r => g.0 *= d,
            _ => groups.push((d, r)),
        }
    }
    let n_red = groups.iter().filter(|g| g.1).count();
    if n_red <= 1 {
        let pos = groups.iter().position(|g| g.1);
        let Some(p) = pos else {
            return Ok((Cow::Borrowed(x), x.len(), 1, 1));
        };
        let outer = groups[..p].iter().map(|g| g.0).product();
        let inner = groups[p + 1..].iter().map(|g| g.0).product();
        return Ok((Cow::Borrowed(x), outer, groups[p].0, inner));
    }
    // Transpose to [kept..., reduced...].
    let st = x.strides();
    let perm: Vec<usize> = (0..is_red.len())
        .filter(|&i| !is_red[i])
        .chain((0..is_red.len()).filter(|&i| is_red[i]))
        .collect();
    let shape: Vec<usize> = perm.iter().map(|&i| x.shape()[i]).collect();
    let strides: Vec<usize> = perm.iter().map(|&i| st[i]).collect();
    let t = crate::util::strided_copy(x, &shape, &strides, 0)?;
    let outer = (0..is_red.len())
        .filter(|&i| !is_red[i])
        .map(|i| x.shape()[i])
        .product();
    let red = (0..is_red.len()).filter(|&i| is_red[i]).map(|i| x.shape()[i]).product();
    Ok((Cow::Owned(t), outer, red, 1))
}

/// Compute the reduction of `[outer, red, inner]` data into `outer * inner` values.
fn compute(op: &str, kind: ReduceKind, x: &Tensor, outer: usize, red: usize, inner: usize) -> Result<TensorData> {
    fn minmax<T: HostElem>(x: &Tensor, is_max: bool, dims: (usize, usize, usize)) -> Result<TensorData> {
        Ok(T::wrap(pick_reduce(x.as_slice::<T>()?, is_max, dims)))
    }
    fn float_path<T: HostElem>(x: &Tensor, kind: ReduceKind, dims: (usize, usize, usize)) -> Result<TensorData> {
        let xs = x.as_slice::<T>()?;
        Ok(T::wrap(if kind == ReduceKind::LogSumExp {
            lse_reduce(xs, dims)
        } else {
            acc_reduce::<T, f64>(xs, kind, dims)
        }))
    }
    fn int_path<T: HostElem>(x: &Tensor, kind: ReduceKind, dims: (usize, usize, usize)) -> Result<TensorData> {
        Ok(T::wrap(acc_reduce::<T, i64>(x.as_slice::<T>()?, kind, dims)))
    }
    let dims = (outer, red, inner);
    let dt = x.dtype();
    let unsupported = || KernelError::unsupported(op, format!("input dtype {dt}"));
    match kind {
        ReduceKind::Max | ReduceKind::Min => {
            crate::dispatch_dtype!(dt, minmax(x, kind == ReduceKind::Max, dims), str => Err(unsupported()))
        }
        _ if dt == DType::Bool => Err(unsupported()),
        _ if dt.is_float() || kind == ReduceKind::LogSumExp => {
            crate::dispatch_dtype!(dt, float_path(x, kind, dims), str => Err(unsupported()))
        }
        _ => crate::dispatch_dtype!(dt, int_path(x, kind, dims), str => Err(unsupported())),
    }
}

/// Outputs per parallel task when each output folds a contiguous slice.
fn block_len(red: usize) -> usize {
    (4096 / red.max(1)).clamp(1, 1024)
}

/// Max/Min over `[outer, red, inner]` comparing elements directly (every dtype; NaN wins).
fn pick_reduce<T: HostElem>(xs: &[T], is_max: bool, (outer, red, inner): (usize, usize, usize)) -> Vec<T> {
    let init = if T::DTYPE == DType::Bool {
        T::from_f64(if is_max { 0.0 } else { 1.0 })
    } else {
        T::from_f64(if is_max { f64::NEG_INFINITY } else { f64::INFINITY })
    };
    if is_max {
        pick_impl(xs, init, (outer, red, inner), |acc, x| x > acc)
    } else {
        pick_impl(xs, init, (outer, red, inner), |acc, x| x < acc)
    }
}

/// The loops of [`pick_reduce`], monomorphised on the comparison `take(acc, x)` (NaN-free
/// ordering; NaNs are handled here and propagate).
fn pick_impl<T: HostElem>(
    xs: &[T],
    init: T,
    (outer, red, inner): (usize, usize, usize),
    take: impl Fn(T, T) -> bool + Sync,
) -> Vec<T> {
    let mut out = vec![init; outer * inner];
    if inner == 1 {
        let b = block_len(red);
        for_rows(&mut out, b, xs.len(), |blk, row| {
            for (j, o) in row.iter_mut().enumerate() {
                let start = (blk * b + j) * red;
                *o = pick_slice(&xs[start..start + red], init, &take);
            }
        });
    } else {
        for_rows(&mut out, inner, xs.len(), |o, acc| {
            for r in 0..red {
                let start = (o * red + r) * inner;
                for (a, &x) in acc.iter_mut().zip(&xs[start..start + inner]) {
                    if !is_nan(*a) && (is_nan(x) || take(*a, x)) {
                        *a = x;
                    }
                }
            }
        });
    }
    out
}

/// The pick of one contiguous slice: eight lanes compared without NaN logic (so the loop
/// vectorises), then the first NaN if any element was NaN.
#[inline]
fn pick_slice<T: HostElem>(s: &[T], init: T, take: &impl Fn(T, T) -> bool) -> T {
    let mut lanes = [init; 8];
    let mut nan = false;
    let mut it = s.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            nan |= is_nan(c[k]);
            if take(lanes[k], c[k]) {
                lanes[k] = c[k];
            }
        }
    }
    // NaN wins wherever it is, the tail past the last full chunk included.
    nan |= it.remainder().iter().any(|&x| is_nan(x));
    if nan {
        return s.iter().copied().find(|&x| is_nan(x)).unwrap_or(init);
    }
    let mut acc = init;
    for &x in lanes.iter().chain(it.remainder()) {
        if take(acc, x) {
            acc = x;
        }
    }
    acc
}

/// Sum-like and product reductions through the accumulator `A`.
fn acc_reduce<T: HostElem, A: Acc>(xs: &[T], kind: ReduceKind, dims: (usize, usize, usize)) -> Vec<T> {
    match kind {
        ReduceKind::Prod => fold_impl::<T, A>(xs, kind, dims, A::ONE, A::mul, A::load),
        ReduceKind::L1 => fold_impl::<T, A>(xs, kind, dims, A::ZERO, A::add, |x| A::load(x).abs()),
        ReduceKind::L2 | ReduceKind::SumSquare => fold_impl::<T, A>(xs, kind, dims, A::ZERO, A::add, |x| {
            let a = A::load(x);
            a.mul(a)
        }),
        _ => fold_impl::<T, A>(xs, kind, dims, A::ZERO, A::add, A::load),
    }
}

/// The final map applied to a folded value (`n` = number of reduced elements).
#[inline]
fn post<A: Acc>(kind: ReduceKind, a: A, n: usize) -> A {
    match kind {
        ReduceKind::Mean => A::from_f64(a.to_f64() / n as f64),
        ReduceKind::L2 => A::from_f64(a.to_f64().sqrt()),
        ReduceKind::LogSum => A::from_f64(a.to_f64().ln()),
        _ => a,
    }
}

/// Fold `[outer, red, inner]` with `comb(acc, pre(x))`, then apply [`post`].
fn fold_impl<T: HostElem, A: Acc>(
    xs: &[T],
    kind: ReduceKind,
    (outer, red, inner): (usize, usize, usize),
    init: A,
    comb: impl Fn(A, A) -> A + Sync,
    pre: impl Fn(T) -> A + Sync,
) -> Vec<T> {
    let mut out = vec![T::zero(); outer * inner];
    if inner == 1 {
        let b = block_len(red);
        for_rows(&mut out, b, xs.len(), |blk, row| {
            for (j, o) in row.iter_mut().enumerate() {
                let start = (blk * b + j) * red;
                let s = &xs[start..start + red];
                // Four independent lanes let the compiler pipeline the additions.
                let mut lanes = [init; 4];
                let mut chunks = s.chunks_exact(4);
                for c in &mut chunks {
                    for k in 0..4 {
                        lanes[k] = comb(lanes[k], pre(c[k]));
                    }
                }
                let mut acc = comb(comb(lanes[0], lanes[1]), comb(lanes[2], lanes[3]));
                for &x in chunks.remainder() {
                    acc = comb(acc, pre(x));
                }
                *o = post(kind, acc, red).store();
            }
        });
    } else {
        for_rows(&mut out, inner, xs.len(), |o, row| {
            let mut acc = vec![init; inner];
            for r in 0..red {
                let start = (o * red + r) * inner;
                for (a, &x) in acc.iter_mut().zip(&xs[start..start + inner]) {
                    *a = comb(*a, pre(x));
                }
            }
            for (y, a) in row.iter_mut().zip(acc) {
                *y = post(kind, a, red).store();
            }
        });
    }
    out
}

/// ln Σ exp(x), shifted by the largest finite-or-(-inf) value for stability.
fn lse_reduce<T: HostElem>(xs: &[T], (outer, red, inner): (usize, usize, usize)) -> Vec<T> {
    // Infinite values do not take part in the shift (as in the ONNX reference).
    let shift_of = |m: f64| if m == f64::NEG_INFINITY || is_nan(m) { 0.0 } else { m };
    let key = |x: T| {
        let v = x.to_f64();
        if v.is_infinite() {
            f64::NEG_INFINITY
        } else {
            v
        }
    };
    let mut out = vec![T::zero(); outer * inner];
    if inner == 1 {
        let b = block_len(red);
        for_rows(&mut out, b, xs.len(), |blk, row| {
            for (j, o) in row.iter_mut().enumerate() {
                let start = (blk * b + j) * red;
                let s = &xs[start..start + red];
                let m = shift_of(s.iter().map(|&x| key(x)).fold(f64::NEG_INFINITY, f64::max));
                let sum: f64 = s.iter().map(|&x| (x.to_f64() - m).exp()).sum();
                *o = T::from_f64(sum.ln() + m);
            }
        });
    } else {
        for_rows(&mut out, inner, xs.len(), |o, row| {
            let mut mx = vec![f64::NEG_INFINITY; inner];
            for r in 0..red {
                let start = (o * red + r) * inner;
                for (m, &x) in mx.iter_mut().zip(&xs[start..start + inner]) {
                    *m = m.max(key(x));
                }
            }
            mx.iter_mut().for_each(|m| *m = shift_of(*m));
            let mut sum = vec![0.0f64; inner];
            for r in 0..red {
                let start = (o * red + r) * inner;
                for ((s, &m), &x) in sum.iter_mut().zip(&mx).zip(&xs[start..start + inner]) {
                    *s += (x.to_f64() - m).exp();
                }
            }
            for ((y, s), m) in row.iter_mut().zip(sum).zip(mx) {
                *y = T::from_f64(s.ln() + m);
            }
        });
    }
    out
}
