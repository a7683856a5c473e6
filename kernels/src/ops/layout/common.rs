//! Helpers shared by the layout kernels: element access generic over every dtype (strings
//! included), strided copies with contiguous fast paths, axis and index validation.

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::shape::{Dim, TensorType};
use crate::tensor::{HostElem, Tensor, TensorData};
use std::fmt;

/// An element type layout kernels can move around: every numeric type, bool and `String`.
pub(crate) trait AnyElem: Clone + PartialOrd + Send + Sync + fmt::Debug + 'static {
    /// View the storage if it holds this element type.
    fn view(d: &TensorData) -> Option<&Vec<Self>>;
    /// Wrap a vector into storage.
    fn wrap(v: Vec<Self>) -> TensorData;
    /// An empty vector with room for `n` elements (recycled storage where possible).
    fn with_capacity(n: usize) -> Vec<Self> {
        Vec::with_capacity(n)
    }
}

impl<T: HostElem> AnyElem for T {
    fn view(d: &TensorData) -> Option<&Vec<Self>> {
        <T as HostElem>::view(d)
    }
    fn wrap(v: Vec<Self>) -> TensorData {
        <T as HostElem>::wrap(v)
    }
    fn with_capacity(n: usize) -> Vec<Self> {
        crate::buffers::with_capacity(n)
    }
}

impl AnyElem for String {
    fn view(d: &TensorData) -> Option<&Vec<Self>> {
        match d {
            TensorData::Str(v) => Some(v),
            _ => None,
        }
    }
    fn wrap(v: Vec<Self>) -> TensorData {
        TensorData::Str(v)
    }
}

/// Call `$f::<T>(args…)` with `T` chosen by a runtime dtype, over every dtype including
/// strings (`T = String`): [`crate::dispatch_dtype!`] with the string case filled in.
macro_rules! any_dtype {
    ($dt:expr, $f:ident ( $($arg:expr),* )) => {
        $crate::dispatch_dtype!($dt, $f($($arg),*), str => $f::<String>($($arg),*))
    };
}
pub(crate) use any_dtype;

/// The elements of `t` as `T`; fails when the dtype differs.
pub(crate) fn elems<'a, T: AnyElem>(op: &str, t: &'a Tensor) -> Result<&'a [T]> {
    T::view(t.data())
        .map(|v| v.as_slice())
        .ok_or_else(|| KernelError::invalid(op, format!("unexpected dtype {}", t.dtype())))
}

/// A tensor from a shape and a vector of any element type.
pub(crate) fn make<T: AnyElem>(shape: Vec<usize>, v: Vec<T>) -> Result<Tensor> {
    Tensor::new(shape, T::wrap(v))
}

/// Fail unless every tensor has the dtype of the first.
pub(crate) fn same_dtypes(op: &str, ts: &[&Tensor]) -> Result<DType> {
    let dt = ts
        .first()
        .map(|t| t.dtype())
        .ok_or_else(|| KernelError::invalid(op, "no inputs"))?;
    for t in ts {
        if t.dtype() != dt {
            return Err(KernelError::invalid(
                op,
                format!("inputs have different dtypes {} and {}", dt, t.dtype()),
            ));
        }
    }
    Ok(dt)
}

/// Normalise an axis in `[-rank, rank)`.
pub(crate) fn axis(op: &str, a: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(KernelError::invalid(
            op,
            format!("axis {a} is out of range for rank {rank}"),
        ));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}

/// Normalise a list of axes against `rank`, rejecting duplicates.
pub(crate) fn axes(op: &str, list: &[i64], rank: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(list.len());
    for &a in list {
        let n = axis(op, a, rank)?;
        if out.contains(&n) {
            return Err(KernelError::invalid(op, format!("axis {a} is repeated in {list:?}")));
        }
        out.push(n);
    }
    Ok(out)
}

/// Normalise an index into a dim of extent `n` (`-n <= i < n`).
#[inline]
pub(crate) fn index(op: &str, i: i64, n: usize) -> Result<usize> {
    let m = n as i64;
    if i < -m || i >= m {
        return Err(KernelError::invalid(
            op,
            format!("index {i} is out of range for a dim of size {n}"),
        ));
    }
    Ok(if i < 0 { (i + m) as usize } else { i as usize })
}

/// Read an integer index tensor (i32 or i64) as i64s.
pub(crate) fn read_indices(op: &str, t: &Tensor) -> Result<Vec<i64>> {
    match t.dtype() {
        DType::I64 => {
            let mut v = crate::buffers::with_capacity::<i64>(t.len());
            v.extend_from_slice(t.as_slice::<i64>()?);
            Ok(v)
        }
        DType::I32 | DType::I16 | DType::I8 | DType::U8 | DType::U16 | DType::U32 | DType::U64 => t.to_i64_vec(),
        dt => Err(KernelError::invalid(
            op,
            format!("indices must be integers, found {dt}"),
        )),
    }
}

/// Product of dims, failing on overflow.
pub(crate) fn numel(op: &str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| KernelError::invalid(op, format!("shape {shape:?} is too large")))
}

/// A non-negative dim from an i64, failing on negative values.
pub(crate) fn to_dim(op: &str, v: i64) -> Result<usize> {
    usize::try_from(v).map_err(|_| KernelError::invalid(op, format!("negative dim {v}")))
}

/// Product of `shape[a..b]`.
#[inline]
pub(crate) fn prod(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Append to `out` the elements of a strided view of `src`, in row-major order of `shape`.
/// Element `idx` of the view is `src[offset + Σ idx[d] * strides[d]]`; the caller guarantees that
/// every such position is inside `src`. Contiguous inner runs are copied with `extend_from_slice`.
pub(crate) fn copy_view<T: Clone>(src: &[T], shape: &[usize], strides: &[isize], offset: usize, out: &mut Vec<T>) {
    if shape.contains(&0) {
        return;
    }
    // Drop unit dims and merge dims that are contiguous with their inner neighbour.
    let mut dims: smallvec::SmallVec<[(usize, isize); 8]> = smallvec::SmallVec::new();
    for (&n, &s) in shape.iter().zip(strides) {
        if n == 1 {
            continue;
        }
        if let Some(last) = dims.last_mut() {
            if last.1 == s * n as isize {
                last.0 *= n;
                last.1 = s;
                continue;
            }
        }
        dims.push((n, s));
    }
    let Some(&(inner_n, inner_s)) = dims.last() else {
        out.push(src[offset].clone());
        return;
    };
    let outer = &dims[..dims.len() - 1];
    let outer_count: usize = outer.iter().map(|d| d.0).product();
    out.reserve(outer_count * inner_n);
    let mut idx: crate::shape::SmallDims = smallvec::smallvec![0usize; outer.len()];
    let mut base = offset as isize;
    for _ in 0..outer_count {
        let b = base as usize;
        if inner_s == 1 {
            out.extend_from_slice(&src[b..b + inner_n]);
        } else if inner_s == 0 {
            out.extend(std::iter::repeat_n(src[b].clone(), inner_n));
        } else {
            let mut p = base;
            for _ in 0..inner_n {
                out.push(src[p as usize].clone());
                p += inner_s;
            }
        }
        // Advance the outer odometer.
        let mut d = outer.len();
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            base += outer[d].1;
            if idx[d] < outer[d].0 {
                break;
            }
            base -= outer[d].1 * outer[d].0 as isize;
            idx[d] = 0;
        }
    }
}

/// Copy of `t` permuted by `perm` after viewing it with shape `view` (same element count).
pub(crate) fn permute_view(t: &Tensor, view: &[usize], perm: &[usize]) -> Result<Tensor> {
    fn go<T: AnyElem>(t: &Tensor, view: &[usize], perm: &[usize]) -> Result<Tensor> {
        let src = elems::<T>("Transpose", t)?;
        let st = crate::shape::strides_small(view);
        let mut shape = crate::buffers::dims(&[]);
        shape.extend(perm.iter().map(|&p| view[p]));
        let strides: smallvec::SmallVec<[isize; 8]> = perm.iter().map(|&p| st[p] as isize).collect();
        let mut out = T::with_capacity(src.len());
        if shape.len() >= 2 && strides[shape.len() - 1] != 1 && src.len() >= 4096 {
            transpose_blocked(src, &shape, &strides, &mut out);
        } else {
            copy_view(src, &shape, &strides, 0, &mut out);
        }
        make(shape, out)
    }
    any_dtype!(t.dtype(), go(t, view, perm))
}

/// Strided copy for permutations that move the innermost dim: tiles the two innermost
/// output dims so reads and writes both stay in cache; row blocks run in parallel.
fn transpose_blocked<T: Clone + Send + Sync + 'static>(
    src: &[T],
    shape: &[usize],
    strides: &[isize],
    out: &mut Vec<T>,
) {
    use rayon::prelude::*;
    const B: usize = 32;
    let r = shape.len();
    let (rows, cols) = (shape[r - 2], shape[r - 1]);
    let (rs, cs) = (strides[r - 2], strides[r - 1]);
    let outer = &shape[..r - 2];
    let outer_count: usize = outer.iter().product();
    let plane = rows * cols;
    // Source offset of each outer plane.
    let mut bases: smallvec::SmallVec<[isize; 64]> = smallvec::SmallVec::with_capacity(outer_count);
    let mut idx: crate::shape::SmallDims = smallvec::smallvec![0usize; outer.len()];
    let mut base: isize = 0;
    for _ in 0..outer_count {
        bases.push(base);
        let mut d = outer.len();
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            base += strides[d];
            if idx[d] < outer[d] {
                break;
            }
            base -= strides[d] * outer[d] as isize;
            idx[d] = 0;
        }
    }
    let start = out.len();
    // Fill with clones first so tiles can be written in any order.
    out.extend(std::iter::repeat_n(src[0].clone(), outer_count * plane));
    let dst = &mut out[start..];
    // The innermost two output dims read as a plain 2-D transpose: 8×8 register tiles.
    if rs == 1 && cs > 0 && super::tile::transpose_planes(src, &bases, (rows, cols, cs as usize), dst) {
        return;
    }
    let tile_rows = |block: &mut [T], base: isize, i0: usize| {
        for j0 in (0..cols).step_by(B) {
            for (di, row) in block.chunks_mut(cols).enumerate() {
                let mut p = base + (i0 + di) as isize * rs + j0 as isize * cs;
                for cell in &mut row[j0..(j0 + B).min(cols)] {
                    *cell = src[p as usize].clone();
                    p += cs;
                }
            }
        }
    };
    dst.par_chunks_mut(plane)
        .zip(bases.par_iter())
        .for_each(|(plane_out, &base)| {
            plane_out
                .par_chunks_mut(B * cols)
                .enumerate()
                .for_each(|(bi, block)| tile_rows(block, base, bi * B));
        });
}

/// The dims of a type, if its rank is known.
pub(crate) fn dims(ty: &TensorType) -> Option<&[Dim]> {
    ty.shape.as_deref()
}

/// A type from a dtype and dims.
pub(crate) fn ty(dtype: DType, dims: Vec<Dim>) -> TensorType {
    TensorType {
        dtype,
        shape: Some(dims),
    }
}

/// Product of dims when all are known.
pub(crate) fn dims_prod(dims: &[Dim]) -> Option<usize> {
    dims.iter().map(|d| d.known()).product()
}
