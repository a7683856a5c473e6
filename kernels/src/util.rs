//! Small helpers shared by the CPU kernels and their inference functions.

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{broadcast_strides, for_each_offset, TensorType};
use crate::tensor::{HostElem, Tensor};

/// Input `i`, which the op requires.
pub fn req<'a>(op: &str, inputs: &[Option<&'a Tensor>], i: usize) -> Result<&'a Tensor> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| KernelError::invalid(op, format!("missing required input {i}")))
}

/// Input `i`, which may be omitted.
pub fn opt<'a>(inputs: &[Option<&'a Tensor>], i: usize) -> Option<&'a Tensor> {
    inputs.get(i).copied().flatten()
}

/// The type of required input `i` during inference.
pub fn req_ty<'a>(op: &str, inputs: &[InferInput<'a>], i: usize) -> Result<&'a TensorType> {
    inputs
        .get(i)
        .and_then(|x| x.ty)
        .ok_or_else(|| KernelError::invalid(op, format!("missing required input {i}")))
}

/// The constant value of input `i` during inference, if it is known.
pub fn const_val<'a>(inputs: &[InferInput<'a>], i: usize) -> Option<&'a Tensor> {
    inputs.get(i).and_then(|x| x.value)
}

/// Fail unless `t` has dtype `dt`.
pub fn expect_dtype(op: &str, what: &str, t: &Tensor, dt: DType) -> Result<()> {
    if t.dtype() != dt {
        return Err(KernelError::invalid(
            op,
            format!("{what} must be {dt}, found {}", t.dtype()),
        ));
    }
    Ok(())
}

/// Fail unless `a` and `b` have the same dtype.
pub fn same_dtype(op: &str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(KernelError::invalid(
            op,
            format!("inputs have different dtypes {} and {}", a.dtype(), b.dtype()),
        ));
    }
    Ok(())
}

/// Elementwise binary map with numpy broadcasting over typed slices.
pub fn broadcast_map2<A: HostElem, B: HostElem, O: HostElem>(
    op: &str,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(A, B) -> O,
) -> Result<Tensor> {
    let out_shape = crate::shape::broadcast_shapes(op, &[a.shape(), b.shape()])?;
    let av = a.as_slice::<A>()?;
    let bv = b.as_slice::<B>()?;
    let n: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(n);
    if a.shape() == b.shape() {
        out.extend(av.iter().zip(bv).map(|(&x, &y)| f(x, y)));
    } else if b.len() == 1 {
        let y = bv[0];
        out.extend(av.iter().map(|&x| f(x, y)));
    } else if a.len() == 1 {
        let x = av[0];
        out.extend(bv.iter().map(|&y| f(x, y)));
    } else {
        let sa = broadcast_strides(a.shape(), &out_shape);
        let sb = broadcast_strides(b.shape(), &out_shape);
        for_each_offset(&out_shape, [&sa, &sb], |[ia, ib]| out.push(f(av[ia], bv[ib])));
    }
    Tensor::from_vec(out_shape, out)
}

/// Elementwise ternary map with numpy broadcasting (used by `Where`, `Clip`-like ops).
pub fn broadcast_map3<A: HostElem, B: HostElem, C: HostElem, O: HostElem>(
    op: &str,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    f: impl Fn(A, B, C) -> O,
) -> Result<Tensor> {
    let out_shape = crate::shape::broadcast_shapes(op, &[a.shape(), b.shape(), c.shape()])?;
    let (av, bv, cv) = (a.as_slice::<A>()?, b.as_slice::<B>()?, c.as_slice::<C>()?);
    let sa = broadcast_strides(a.shape(), &out_shape);
    let sb = broadcast_strides(b.shape(), &out_shape);
    let sc = broadcast_strides(c.shape(), &out_shape);
    let mut out = Vec::with_capacity(out_shape.iter().product());
    for_each_offset(&out_shape, [&sa, &sb, &sc], |[i, j, k]| {
        out.push(f(av[i], bv[j], cv[k]))
    });
    Tensor::from_vec(out_shape, out)
}

/// Gather `t`'s elements in the order of a strided view (`shape`, element `strides`, `offset`)
/// into a new contiguous tensor. Works for every dtype including strings.
pub fn strided_copy(t: &Tensor, shape: &[usize], strides: &[usize], offset: usize) -> Result<Tensor> {
    fn go<T: Clone>(v: &[T], shape: &[usize], strides: &[usize], offset: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(shape.iter().product());
        for_each_offset(shape, [strides], |[i]| out.push(v[offset + i].clone()));
        out
    }
    let data = crate::match_data!(t.data(), v => HostElem::wrap(go(v, shape, strides, offset)),
        str => crate::TensorData::Str(go(t.as_strings()?, shape, strides, offset)));
    Tensor::new(shape.to_vec(), data)
}

/// `dst.copy_from_slice(src)` for short rows (small conv planes, GEMM micro-panel rows), as
/// inline 8-float moves (the last one overlapping) instead of a `memcpy` call per row, which
/// costs more than the copy.
#[inline(always)]
pub(crate) fn copy_short(dst: &mut [f32], src: &[f32]) {
    let n = dst.len().min(src.len());
    if n < 8 {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = v;
        }
        return;
    }
    let mut i = 0;
    while i < n {
        let j = i.min(n - 8);
        let chunk: [f32; 8] = src[j..j + 8].try_into().unwrap_or([0.0; 8]);
        dst[j..j + 8].copy_from_slice(&chunk);
        i += 8;
    }
}
