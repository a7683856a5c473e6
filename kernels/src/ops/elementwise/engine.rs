//! The elementwise loop engine: unary maps and numpy-broadcast maps over 2 or 3 inputs.
//!
//! Callers dispatch on dtype and op once and hand a monomorphised closure to these
//! functions, which run it in tight loops over contiguous runs (parallel for large outputs).

use crate::buffers;
use crate::error::Result;
use crate::shape::{
    broadcast_dims_small, broadcast_shapes, broadcast_strides, broadcast_strides_small, for_each_offset, SmallDims,
};
use crate::tensor::{HostElem, Tensor};
use rayon::prelude::*;

/// Outputs smaller than this run on the calling thread.
const PAR_MIN: usize = 1 << 15;

/// Chunk length for parallel loops over `n` elements.
fn chunk_len(n: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    (n / (threads * 4)).max(PAR_MIN / 2)
}

/// Map every element of `x` through `f` into a new vector.
pub(super) fn map1<A, O>(x: &[A], f: impl Fn(A) -> O + Sync) -> Vec<O>
where
    A: Copy + Sync,
    O: HostElem,
{
    let n = x.len();
    let mut out = buffers::overwritten::<O>(n);
    let body = |o: &mut [O], i: &[A]| {
        for (o, &v) in o.iter_mut().zip(i) {
            *o = f(v);
        }
    };
    if n < PAR_MIN {
        body(&mut out, x);
    } else {
        let ch = chunk_len(n);
        out.par_chunks_mut(ch)
            .zip(x.par_chunks(ch))
            .for_each(|(o, i)| body(o, i));
    }
    out
}

/// Map a tensor of `A` elementwise to a tensor of `O` with the same shape.
pub(super) fn unary<A: HostElem, O: HostElem>(x: &Tensor, f: impl Fn(A) -> O + Sync) -> Result<Tensor> {
    let v = map1(x.as_slice::<A>()?, f);
    Tensor::from_vec(buffers::dims(x.shape()), v)
}

/// A broadcast iteration plan: the output split into rows of `inner` contiguous elements.
/// Along a row, input `k` advances by `inner_strides[k]` (0 or 1).
struct Plan<const N: usize> {
    outer: SmallDims,
    outer_strides: [SmallDims; N],
    inner: usize,
    inner_strides: [usize; N],
}

impl<const N: usize> Plan<N> {
    /// Plan reading inputs of shapes `ins` broadcast to `out` (which must be their broadcast).
    fn new(out: &[usize], ins: [&[usize]; N]) -> Plan<N> {
        let st: [SmallDims; N] = ins.map(|s| broadcast_strides_small(s, out));
        // Coalesce: drop extent-1 dims, merge a dim into the previous kept one when every
        // input is contiguous (or broadcast) across both.
        let mut dims = SmallDims::new();
        let mut strides: [SmallDims; N] = std::array::from_fn(|_| SmallDims::new());
        for (d, &ext) in out.iter().enumerate() {
            if ext == 1 {
                continue;
            }
            let mergeable = !dims.is_empty() && (0..N).all(|k| strides[k].last().copied() == Some(st[k][d] * ext));
            if mergeable {
                if let Some(last) = dims.last_mut() {
                    *last *= ext;
                }
                for k in 0..N {
                    if let Some(s) = strides[k].last_mut() {
                        *s = st[k][d];
                    }
                }
            } else {
                dims.push(ext);
                for k in 0..N {
                    strides[k].push(st[k][d]);
                }
            }
        }
        let inner = dims.pop().unwrap_or(1);
        let inner_strides = std::array::from_fn(|k| strides[k].pop().unwrap_or(0));
        Plan {
            outer: dims,
            outer_strides: strides,
            inner,
            inner_strides,
        }
    }

    /// Input offsets of the first element of output row `row`.
    fn row_offsets(&self, mut row: usize) -> [usize; N] {
        let mut off = [0usize; N];
        for d in (0..self.outer.len()).rev() {
            let ext = self.outer[d];
            let i = row % ext;
            row /= ext;
            for k in 0..N {
                off[k] += i * self.outer_strides[k][d];
            }
        }
        off
    }

    /// Fill `out` (the whole output) by calling `body(segment, input offsets)` for each
    /// contiguous run of a row; runs in parallel for large outputs.
    fn fill<O: Send>(&self, out: &mut [O], body: impl Fn(&mut [O], [usize; N]) + Sync) {
        let n = out.len();
        let segments = |start: usize, chunk: &mut [O]| {
            let end = start + chunk.len();
            let mut pos = start;
            while pos < end {
                let row = pos / self.inner;
                let col = pos % self.inner;
                let len = (self.inner - col).min(end - pos);
                let mut off = self.row_offsets(row);
                for k in 0..N {
                    off[k] += col * self.inner_strides[k];
                }
                body(&mut chunk[pos - start..pos - start + len], off);
                pos += len;
            }
        };
        if n < PAR_MIN {
            segments(0, out);
        } else {
            let ch = chunk_len(n);
            out.par_chunks_mut(ch)
                .enumerate()
                .for_each(|(i, c)| segments(i * ch, c));
        }
    }
}

/// Binary map with numpy broadcasting: `out[i] = f(a[i], b[i])`.
pub(super) fn binary<A, B, O>(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(A, B) -> O + Sync) -> Result<Tensor>
where
    A: HostElem,
    B: HostElem,
    O: HostElem,
{
    let (av, bv) = (a.as_slice::<A>()?, b.as_slice::<B>()?);
    if a.shape() == b.shape() {
        return Tensor::from_vec(buffers::dims(a.shape()), zip_map(av, bv, f));
    }
    let shape = broadcast_dims_small(op, &[a.shape(), b.shape()])?;
    let n: usize = shape.iter().product();
    let mut out = buffers::overwritten::<O>(n);
    if n > 0 {
        let plan = Plan::new(&shape, [a.shape(), b.shape()]);
        let [sa, sb] = plan.inner_strides;
        // Offsets come from the plan built from the validated shapes, so every run
        // `[off, off + len)` (or the single element at `off`) lies inside its input.
        plan.fill(&mut out, |o, [ia, ib]| {
            let len = o.len();
            match (sa, sb) {
                (0, 0) => o.fill(f(av[ia], bv[ib])),
                (_, 0) => {
                    let y = bv[ib];
                    for (o, &x) in o.iter_mut().zip(&av[ia..ia + len]) {
                        *o = f(x, y);
                    }
                }
                (0, _) => {
                    let x = av[ia];
                    for (o, &y) in o.iter_mut().zip(&bv[ib..ib + len]) {
                        *o = f(x, y);
                    }
                }
                _ => {
                    for ((o, &x), &y) in o.iter_mut().zip(&av[ia..ia + len]).zip(&bv[ib..ib + len]) {
                        *o = f(x, y);
                    }
                }
            }
        });
    }
    Tensor::from_vec(buffers::dims(&shape), out)
}

/// Elementwise map over two equal-length slices.
fn zip_map<A, B, O>(a: &[A], b: &[B], f: impl Fn(A, B) -> O + Sync) -> Vec<O>
where
    A: Copy + Sync,
    B: Copy + Sync,
    O: HostElem,
{
    let n = a.len().min(b.len());
    let mut out = buffers::overwritten::<O>(n);
    let body = |o: &mut [O], x: &[A], y: &[B]| {
        for ((o, &x), &y) in o.iter_mut().zip(x).zip(y) {
            *o = f(x, y);
        }
    };
    if n < PAR_MIN {
        body(&mut out, a, b);
    } else {
        let ch = chunk_len(n);
        out.par_chunks_mut(ch)
            .zip(a.par_chunks(ch).zip(b.par_chunks(ch)))
            .for_each(|(o, (x, y))| body(o, x, y));
    }
    out
}

/// Ternary map with numpy broadcasting: `out[i] = f(a[i], b[i], c[i])`.
pub(super) fn ternary<A, B, C, O>(
    op: &str,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    f: impl Fn(A, B, C) -> O + Sync,
) -> Result<Tensor>
where
    A: HostElem,
    B: HostElem,
    C: HostElem,
    O: HostElem,
{
    let (av, bv, cv) = (a.as_slice::<A>()?, b.as_slice::<B>()?, c.as_slice::<C>()?);
    let shape = broadcast_dims_small(op, &[a.shape(), b.shape(), c.shape()])?;
    let n: usize = shape.iter().product();
    let mut out = buffers::overwritten::<O>(n);
    if n > 0 {
        let plan = Plan::new(&shape, [a.shape(), b.shape(), c.shape()]);
        let [sa, sb, sc] = plan.inner_strides;
        // Offsets stay inside the inputs by construction of the plan (see `binary`).
        plan.fill(&mut out, |o, [ia, ib, ic]| {
            for (j, o) in o.iter_mut().enumerate() {
                *o = f(av[ia + j * sa], bv[ib + j * sb], cv[ic + j * sc]);
            }
        });
    }
    Tensor::from_vec(buffers::dims(&shape), out)
}

/// Slow generic broadcast for non-`Copy` data (strings): `out[i] = f(&a[i], &b[i])`.
pub(super) fn binary_ref<A, B, O>(
    op: &str,
    a: &[A],
    a_shape: &[usize],
    b: &[B],
    b_shape: &[usize],
    f: impl Fn(&A, &B) -> O,
) -> Result<(Vec<usize>, Vec<O>)> {
    let shape = broadcast_shapes(op, &[a_shape, b_shape])?;
    let sa = broadcast_strides(a_shape, &shape);
    let sb = broadcast_strides(b_shape, &shape);
    let mut out = Vec::with_capacity(shape.iter().product());
    for_each_offset(&shape, [&sa, &sb], |[i, j]| out.push(f(&a[i], &b[j])));
    Ok((shape, out))
}

/// Slow generic ternary broadcast for non-`Copy` data (strings in `Where`).
pub(super) fn ternary_ref<A, B, C, O>(
    op: &str,
    (a, a_shape): (&[A], &[usize]),
    (b, b_shape): (&[B], &[usize]),
    (c, c_shape): (&[C], &[usize]),
    f: impl Fn(&A, &B, &C) -> O,
) -> Result<(Vec<usize>, Vec<O>)> {
    let shape = broadcast_shapes(op, &[a_shape, b_shape, c_shape])?;
    let sa = broadcast_strides(a_shape, &shape);
    let sb = broadcast_strides(b_shape, &shape);
    let sc = broadcast_strides(c_shape, &shape);
    let mut out = Vec::with_capacity(shape.iter().product());
    for_each_offset(&shape, [&sa, &sb, &sc], |[i, j, k]| out.push(f(&a[i], &b[j], &c[k])));
    Ok((shape, out))
}
