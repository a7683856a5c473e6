//! CumSum / CumProd: running sums and products along the axis given by input 1.

use super::{for_rows, scalar_input, split_at_axis, Acc, ScanKind};
use crate::error::{KernelError, Result};
use crate::shape::norm_axis;
use crate::tensor::{HostElem, Tensor, TensorData};
use crate::util::req;

/// Run CumSum / CumProd.
pub(super) fn run(
    op: &str,
    kind: ScanKind,
    exclusive: bool,
    reverse: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>> {
    fn float<T: HostElem>(x: &Tensor, cfg: Cfg) -> Result<TensorData> {
        Ok(T::wrap(scan_impl::<T, f64>(x.as_slice::<T>()?, cfg)))
    }
    fn int<T: HostElem>(x: &Tensor, cfg: Cfg) -> Result<TensorData> {
        Ok(T::wrap(scan_impl::<T, i64>(x.as_slice::<T>()?, cfg)))
    }
    let x = req(op, inputs, 0)?;
    let axis = scalar_input(op, req(op, inputs, 1)?, "axis")?;
    if x.rank() == 0 {
        return Err(KernelError::invalid(op, "input must have rank >= 1"));
    }
    let a = norm_axis(op, axis, x.rank())?;
    let cfg = Cfg { kind, exclusive, reverse, dims: split_at_axis(x.shape(), a) };
    let dt = x.dtype();
    let unsupported = || KernelError::unsupported(op, format!("input dtype {dt}"));
    let data = if dt.is_float() {
        crate::dispatch_float!(dt, float(x, cfg), other => Err(unsupported()))?
    } else if dt.is_int() {
        crate::dispatch_dtype!(dt, int(x, cfg), str => Err(unsupported()))?
    } else {
        return Err(unsupported());
    };
    Ok(vec![Tensor::new(x.shape().to_vec(), data)?])
}

/// What to scan and how.
#[derive(Clone, Copy)]
struct Cfg {
    kind: ScanKind,
    exclusive: bool,
    reverse: bool,
    dims: (usize, usize, usize),
}

/// The scan over `[outer, n, inner]`, accumulating in `A`.
fn scan_impl<T: HostElem, A: Acc>(xs: &[T], cfg: Cfg) -> Vec<T> {
    let (_, n, inner) = cfg.dims;
    let (init, comb): (A, fn(A, A) -> A) = match cfg.kind {
        ScanKind::Sum => (A::ZERO, A::add),
        ScanKind::Prod => (A::ONE, A::mul),
    };
    let mut out = vec![T::zero(); xs.len()];
    let block = n * inner;
    for_rows(&mut out, block.max(1), xs.len(), |o, ys| {
        let mut acc = vec![init; inner];
        for step in 0..n {
            let j = if cfg.reverse { n - 1 - step } else { step };
            let off = (o * n + j) * inner;
            let src = &xs[off..off + inner];
            let dst = &mut ys[j * inner..(j + 1) * inner];
            for ((a, y), &x) in acc.iter_mut().zip(dst.iter_mut()).zip(src) {
                if cfg.exclusive {
                    *y = a.store();
                    *a = comb(*a, A::load(x));
                } else {
                    *a = comb(*a, A::load(x));
                    *y = a.store();
                }
            }
        }
    });
    out
}
