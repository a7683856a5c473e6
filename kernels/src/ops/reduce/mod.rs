//! ReduceOp family: reductions over axes, arg-reductions, cumulative scans, top-k, the
//! softmax family and the loss functions built on them.
//!
//! Submodules hold one sub-family each; this file defines the typed op enum, dispatches
//! inference and kernels, and provides the small helpers they share (axis splitting,
//! accumulators, row-parallel loops).

mod aggregate;
mod arg;
mod loss;
mod scan;
mod softmax;
mod topk;

use crate::dtype::Elem;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::shape::{Dim, TensorType};
use crate::tensor::Tensor;
use rayon::prelude::*;

pub(crate) use aggregate::reduce_tensor;

/// Which value a `Reduce*` node computes over the reduced elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceKind {
    /// Σx.
    Sum,
    /// Σx / n.
    Mean,
    /// max x.
    Max,
    /// min x.
    Min,
    /// Πx.
    Prod,
    /// Σ|x|.
    L1,
    /// sqrt(Σx²).
    L2,
    /// ln Σx.
    LogSum,
    /// ln Σ exp(x).
    LogSumExp,
    /// Σx².
    SumSquare,
}

/// ArgMax or ArgMin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// Index of the largest element.
    Max,
    /// Index of the smallest element.
    Min,
}

/// CumSum or CumProd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanKind {
    /// Running sum.
    Sum,
    /// Running product.
    Prod,
}

/// Softmax, LogSoftmax or Hardmax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftmaxKind {
    /// exp(x) / Σexp(x).
    Softmax,
    /// x - ln Σexp(x).
    LogSoftmax,
    /// One-hot of the first maximum.
    Hardmax,
}

/// How a loss op reduces the per-element losses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossReduction {
    /// Keep the per-element losses.
    None,
    /// Sum them.
    Sum,
    /// Weighted mean.
    Mean,
}

/// The reduce ops.
#[derive(Clone, Debug, PartialEq)]
pub enum ReduceOp {
    /// ReduceSum, ReduceMean, ReduceMax, … over `axes`.
    Reduce {
        /// The reduction.
        kind: ReduceKind,
        /// Axes from the attribute (older opsets); `None` reads the optional axes input.
        axes: Option<Vec<i64>>,
        /// Keep reduced dims as size 1.
        keepdims: bool,
        /// With empty axes: reduce nothing instead of everything.
        noop_with_empty_axes: bool,
    },
    /// ArgMax / ArgMin along one axis (output int64).
    Arg {
        /// Max or min.
        kind: ArgKind,
        /// The axis.
        axis: i64,
        /// Keep the reduced dim as size 1.
        keepdims: bool,
        /// On ties, report the last index instead of the first.
        select_last_index: bool,
    },
    /// CumSum / CumProd along the axis given by input 1.
    Scan {
        /// Sum or product.
        kind: ScanKind,
        /// Exclude the current element.
        exclusive: bool,
        /// Scan from the end.
        reverse: bool,
    },
    /// TopK: the `k` largest (or smallest) elements along `axis`, and their indices.
    TopK {
        /// `k` from the attribute (opset 1); `None` reads input 1.
        k: Option<i64>,
        /// The axis.
        axis: i64,
        /// Largest (true) or smallest.
        largest: bool,
        /// Sorted output requested (the kernel always sorts).
        sorted: bool,
    },
    /// Softmax / LogSoftmax / Hardmax.
    Softmax {
        /// Which of the three.
        kind: SoftmaxKind,
        /// The axis.
        axis: i64,
        /// Opset < 13: flatten to 2-D at `axis` and normalise over the trailing block.
        coerce_2d: bool,
    },
    /// NegativeLogLikelihoodLoss.
    NllLoss {
        /// Reduction of the per-element losses.
        reduction: LossReduction,
        /// Target value that contributes nothing.
        ignore_index: Option<i64>,
    },
    /// SoftmaxCrossEntropyLoss (second output: log-probabilities).
    SoftmaxCrossEntropyLoss {
        /// Reduction of the per-element losses.
        reduction: LossReduction,
        /// Label value that contributes nothing.
        ignore_index: Option<i64>,
    },
}

impl OpImpl for ReduceOp {
    fn name(&self) -> &'static str {
        match self {
            ReduceOp::Reduce { kind, .. } => aggregate::kind_name(*kind),
            ReduceOp::Arg { kind: ArgKind::Max, .. } => "ArgMax",
            ReduceOp::Arg { kind: ArgKind::Min, .. } => "ArgMin",
            ReduceOp::Scan {
                kind: ScanKind::Sum, ..
            } => "CumSum",
            ReduceOp::Scan {
                kind: ScanKind::Prod, ..
            } => "CumProd",
            ReduceOp::TopK { .. } => "TopK",
            ReduceOp::Softmax {
                kind: SoftmaxKind::Softmax,
                ..
            } => "Softmax",
            ReduceOp::Softmax {
                kind: SoftmaxKind::LogSoftmax,
                ..
            } => "LogSoftmax",
            ReduceOp::Softmax {
                kind: SoftmaxKind::Hardmax,
                ..
            } => "Hardmax",
            ReduceOp::NllLoss { .. } => "NegativeLogLikelihoodLoss",
            ReduceOp::SoftmaxCrossEntropyLoss { .. } => "SoftmaxCrossEntropyLoss",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let op = self.name();
        match self {
            ReduceOp::Reduce {
                kind,
                axes,
                keepdims,
                noop_with_empty_axes,
            } => aggregate::infer(op, *kind, axes.as_deref(), *keepdims, *noop_with_empty_axes, inputs),
            ReduceOp::Arg { axis, keepdims, .. } => arg::infer(op, *axis, *keepdims, inputs),
            ReduceOp::Scan { .. } => Ok(vec![crate::util::req_ty(op, inputs, 0)?.clone()]),
            ReduceOp::TopK { k, axis, .. } => topk::infer(op, *k, *axis, inputs),
            ReduceOp::Softmax { .. } => Ok(vec![crate::util::req_ty(op, inputs, 0)?.clone()]),
            ReduceOp::NllLoss { reduction, .. } => loss::infer_nll(op, *reduction, inputs),
            ReduceOp::SoftmaxCrossEntropyLoss { reduction, .. } => loss::infer_sce(op, *reduction, inputs),
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let op = self.name();
        match self {
            ReduceOp::Reduce {
                kind,
                axes,
                keepdims,
                noop_with_empty_axes,
            } => aggregate::run(op, *kind, axes.as_deref(), *keepdims, *noop_with_empty_axes, inputs),
            ReduceOp::Arg {
                kind,
                axis,
                keepdims,
                select_last_index,
            } => arg::run(op, *kind, *axis, *keepdims, *select_last_index, inputs),
            ReduceOp::Scan {
                kind,
                exclusive,
                reverse,
            } => scan::run(op, *kind, *exclusive, *reverse, inputs),
            ReduceOp::TopK { k, axis, largest, .. } => topk::run(op, *k, *axis, *largest, inputs),
            ReduceOp::Softmax { kind, axis, coerce_2d } => softmax::run(op, *kind, *axis, *coerce_2d, inputs),
            ReduceOp::NllLoss {
                reduction,
                ignore_index,
            } => loss::run_nll(op, *reduction, *ignore_index, inputs),
            ReduceOp::SoftmaxCrossEntropyLoss {
                reduction,
                ignore_index,
            } => loss::run_sce(op, *reduction, *ignore_index, inputs),
        }
    }

    fn flops(&self, inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> u64 {
        // Every op here touches each input element a small constant number of times.
        let n_in = inputs
            .first()
            .copied()
            .flatten()
            .map(|s| s.iter().product::<usize>() as u64)
            .unwrap_or(0);
        let n_out: u64 = outputs.iter().map(|s| s.iter().product::<usize>() as u64).sum();
        let per = match self {
            ReduceOp::Softmax { .. } | ReduceOp::SoftmaxCrossEntropyLoss { .. } => 4,
            ReduceOp::Reduce {
                kind: ReduceKind::LogSumExp,
                ..
            } => 3,
            _ => 1,
        };
        (n_in * per).max(n_out)
    }
}

/// View a shape as `[outer, n, inner]` around `axis` (already normalised).
pub(crate) fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let n = shape.get(axis).copied().unwrap_or(1);
    let inner = shape.get(axis + 1..).map(|s| s.iter().product()).unwrap_or(1);
    (outer, n, inner)
}

/// A running value for sums and products: `f64` for float inputs, wrapping `i64` for integers
/// (exact for 64-bit integers, wrapping like the integer type itself).
pub(crate) trait Acc: Copy + Send + Sync + 'static {
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Read an element.
    fn load<T: Elem>(x: T) -> Self;
    /// Write back as an element (rounding / wrapping / saturating as the type does).
    fn store<T: Elem>(self) -> T;
    /// a + b.
    fn add(self, b: Self) -> Self;
    /// a * b.
    fn mul(self, b: Self) -> Self;
    /// |a|.
    fn abs(self) -> Self;
    /// As f64, for the non-linear post-maps (sqrt, ln, mean).
    fn to_f64(self) -> f64;
    /// From f64 (integers truncate toward zero).
    fn from_f64(v: f64) -> Self;
}

impl Acc for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    #[inline]
    fn load<T: Elem>(x: T) -> f64 {
        x.to_f64()
    }
    #[inline]
    fn store<T: Elem>(self) -> T {
        T::from_f64(self)
    }
    #[inline]
    fn add(self, b: f64) -> f64 {
        self + b
    }
    #[inline]
    fn mul(self, b: f64) -> f64 {
        self * b
    }
    #[inline]
    fn abs(self) -> f64 {
        f64::abs(self)
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64(v: f64) -> f64 {
        v
    }
}

impl Acc for i64 {
    const ZERO: i64 = 0;
    const ONE: i64 = 1;
    #[inline]
    fn load<T: Elem>(x: T) -> i64 {
        x.to_i64()
    }
    #[inline]
    fn store<T: Elem>(self) -> T {
        T::from_i64(self)
    }
    #[inline]
    fn add(self, b: i64) -> i64 {
        self.wrapping_add(b)
    }
    #[inline]
    fn mul(self, b: i64) -> i64 {
        self.wrapping_mul(b)
    }
    #[inline]
    fn abs(self) -> i64 {
        self.wrapping_abs()
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn from_f64(v: f64) -> i64 {
        v as i64
    }
}

/// Element count above which row loops are split across threads.
const PAR_THRESHOLD: usize = 1 << 15;

/// Fill `out` row by row (`row_len` elements each) with `f(row_index, row)`, in parallel
/// when `work` (elements touched) is large.
pub(crate) fn for_rows<T: Send>(out: &mut [T], row_len: usize, work: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if row_len == 0 {
        return;
    }
    if work >= PAR_THRESHOLD && out.len() > row_len {
        out.par_chunks_mut(row_len).enumerate().for_each(|(i, r)| f(i, r));
    } else {
        out.chunks_mut(row_len).enumerate().for_each(|(i, r)| f(i, r));
    }
}

/// Σ f(x) over a slice in f64, with four independent lanes so the additions pipeline.
#[inline]
pub(crate) fn sum_f64<T: Copy>(s: &[T], f: impl Fn(T) -> f64) -> f64 {
    let mut l = [0.0f64; 4];
    let mut it = s.chunks_exact(4);
    for c in &mut it {
        for k in 0..4 {
            l[k] += f(c[k]);
        }
    }
    let r: f64 = it.remainder().iter().map(|&x| f(x)).sum();
    (l[0] + l[1]) + (l[2] + l[3]) + r
}

/// NaN test that works for every element type (false for integers and bools).
#[inline]
#[allow(clippy::eq_op)]
pub(crate) fn is_nan<T: PartialOrd>(x: T) -> bool {
    x.partial_cmp(&x).is_none()
}

/// Total order for sorting elements: NaN above everything, NaNs equal to each other.
#[inline]
pub(crate) fn total_cmp<T: PartialOrd>(a: T, b: T) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match a.partial_cmp(&b) {
        Some(o) => o,
        None => match (is_nan(a), is_nan(b)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            _ => Ordering::Less,
        },
    }
}

/// Read a single-integer input (an axis or `k`): a scalar or one-element tensor.
pub(crate) fn scalar_input(op: &str, t: &Tensor, what: &str) -> Result<i64> {
    if t.len() != 1 {
        return Err(KernelError::invalid(
            op,
            format!("{what} must hold one value, found shape {:?}", t.shape()),
        ));
    }
    Ok(t.to_i64_vec()?[0])
}

/// The output shape of a reduction of one `axis` (normalised) with or without keepdims.
pub(crate) fn reduced_dims(shape: &[Dim], axis: usize, keepdims: bool) -> Vec<Dim> {
    let mut out = Vec::with_capacity(shape.len());
    for (i, d) in shape.iter().enumerate() {
        if i == axis {
            if keepdims {
                out.push(Dim::Known(1));
            }
        } else {
            out.push(d.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    fn run(op: ReduceOp, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        op.run(inputs)
    }

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-5 + 1e-5 * y.abs(), "{a:?} vs {b:?}");
        }
    }

    fn red(kind: ReduceKind, axes: &[i64], keepdims: bool) -> ReduceOp {
        ReduceOp::Reduce {
            kind,
            axes: Some(axes.to_vec()),
            keepdims,
            noop_with_empty_axes: false,
        }
    }

    #[test]
    fn reduce_sum_middle_axis() {
        let x = t(&[2, 3, 2], &(0..12).map(|i| i as f32).collect::<Vec<_>>());
        let y = run(red(ReduceKind::Sum, &[1], false), &[Some(&x)]).unwrap();
        assert_eq!(y[0].shape(), &[2, 2]);
        close(y[0].as_slice::<f32>().unwrap(), &[6.0, 9.0, 24.0, 27.0]);
    }

    #[test]
    fn reduce_non_adjacent_axes_and_kinds() {
        let x = t(&[2, 2, 2], &[1.0, -2.0, 3.0, 4.0, 5.0, 6.0, -7.0, 8.0]);
        let y = run(red(ReduceKind::L1, &[0, 2], true), &[Some(&x)]).unwrap();
        assert_eq!(y[0].shape(), &[1, 2, 1]);
        close(y[0].as_slice::<f32>().unwrap(), &[14.0, 22.0]);
        let y = run(red(ReduceKind::Max, &[-1], false), &[Some(&x)]).unwrap();
        close(y[0].as_slice::<f32>().unwrap(), &[1.0, 4.0, 6.0, 8.0]);
        let y = run(red(ReduceKind::LogSumExp, &[], false), &[Some(&t(&[2], &[0.0, 0.0]))]).unwrap();
        close(y[0].as_slice::<f32>().unwrap(), &[std::f32::consts::LN_2]);
    }

    #[test]
    fn max_and_min_keep_a_nan_anywhere_in_the_row() {
        // Rows of 3 (all tail) and 11 (one full chunk of 8 plus a tail of 3), NaN in the tail.
        for len in [3usize, 11] {
            let mut v: Vec<f32> = (0..len).map(|i| i as f32).collect();
            v[len - 1] = f32::NAN;
            let x = t(&[1, len], &v);
            for kind in [ReduceKind::Max, ReduceKind::Min] {
                let y = run(red(kind, &[1], false), &[Some(&x)]).unwrap();
                assert!(
                    y[0].as_slice::<f32>().unwrap()[0].is_nan(),
                    "{kind:?} over {len} lost the NaN"
                );
            }
        }
    }

    #[test]
    fn reduce_axes_input_noop_and_empty_set() {
        let x = t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let axes = Tensor::from_vec(vec![0], Vec::<i64>::new()).unwrap();
        let op = ReduceOp::Reduce {
            kind: ReduceKind::Sum,
            axes: None,
            keepdims: true,
            noop_with_empty_axes: true,
        };
        let y = run(op, &[Some(&x), Some(&axes)]).unwrap();
        assert_eq!(y[0], x);
        let e = t(&[2, 0, 4], &[]);
        let y = run(red(ReduceKind::Prod, &[1], true), &[Some(&e)]).unwrap();
        assert_eq!(y[0].shape(), &[2, 1, 4]);
        assert!(y[0].as_slice::<f32>().unwrap().iter().all(|&v| v == 1.0));
    }

    #[test]
    fn reduce_int_sum_is_exact() {
        let big = (1i64 << 60) + 1;
        let x = Tensor::from_vec(vec![2], vec![big, 1]).unwrap();
        let y = run(red(ReduceKind::Sum, &[0], false), &[Some(&x)]).unwrap();
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[big + 1]);
    }

    #[test]
    fn reduce_bad_axis_is_error() {
        let x = t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        assert!(run(red(ReduceKind::Sum, &[2], false), &[Some(&x)]).is_err());
        assert!(run(red(ReduceKind::Sum, &[0], false), &[None]).is_err());
    }

    #[test]
    fn argmax_select_last() {
        let x = t(&[2, 3], &[1.0, 5.0, 5.0, 2.0, 0.0, 2.0]);
        let first = ReduceOp::Arg {
            kind: ArgKind::Max,
            axis: 1,
            keepdims: false,
            select_last_index: false,
        };
        let last = ReduceOp::Arg {
            kind: ArgKind::Max,
            axis: 1,
            keepdims: true,
            select_last_index: true,
        };
        assert_eq!(run(first, &[Some(&x)]).unwrap()[0].as_slice::<i64>().unwrap(), &[1, 0]);
        let y = run(last, &[Some(&x)]).unwrap();
        assert_eq!(y[0].shape(), &[2, 1]);
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[2, 2]);
        let min = ReduceOp::Arg {
            kind: ArgKind::Min,
            axis: 0,
            keepdims: false,
            select_last_index: false,
        };
        assert_eq!(run(min, &[Some(&x)]).unwrap()[0].as_slice::<i64>().unwrap(), &[0, 1, 1]);
        let bad = ReduceOp::Arg {
            kind: ArgKind::Min,
            axis: 3,
            keepdims: false,
            select_last_index: false,
        };
        assert!(run(bad, &[Some(&x)]).is_err());
    }

    #[test]
    fn cumsum_exclusive_reverse() {
        let x = Tensor::from_vec(vec![4], vec![1i32, 2, 3, 4]).unwrap();
        let axis = Tensor::scalar(0i64);
        let op = ReduceOp::Scan {
            kind: ScanKind::Sum,
            exclusive: true,
            reverse: true,
        };
        assert_eq!(
            run(op, &[Some(&x), Some(&axis)]).unwrap()[0].as_slice::<i32>().unwrap(),
            &[9, 7, 4, 0]
        );
        let op = ReduceOp::Scan {
            kind: ScanKind::Prod,
            exclusive: false,
            reverse: false,
        };
        assert_eq!(
            run(op.clone(), &[Some(&x), Some(&axis)]).unwrap()[0]
                .as_slice::<i32>()
                .unwrap(),
            &[1, 2, 6, 24]
        );
        assert!(run(op, &[Some(&x), Some(&Tensor::scalar(1i64))]).is_err());
    }

    #[test]
    fn topk_ties_keep_lower_index() {
        let x = Tensor::from_vec(vec![1, 5], vec![3i64, 1, 3, 2, 3]).unwrap();
        let k = Tensor::from_vec(vec![1], vec![2i64]).unwrap();
        let op = ReduceOp::TopK {
            k: None,
            axis: -1,
            largest: true,
            sorted: true,
        };
        let y = run(op.clone(), &[Some(&x), Some(&k)]).unwrap();
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[3, 3]);
        assert_eq!(y[1].as_slice::<i64>().unwrap(), &[0, 2]);
        let small = ReduceOp::TopK {
            k: Some(2),
            axis: 1,
            largest: false,
            sorted: true,
        };
        let y = run(small, &[Some(&x)]).unwrap();
        assert_eq!(y[1].as_slice::<i64>().unwrap(), &[1, 3]);
        let k9 = Tensor::from_vec(vec![1], vec![9i64]).unwrap();
        assert!(run(op, &[Some(&x), Some(&k9)]).is_err());
    }

    #[test]
    fn softmax_family() {
        let x = t(&[2, 2], &[0.0, 0.0, 1.0, 3.0]);
        let sm = ReduceOp::Softmax {
            kind: SoftmaxKind::Softmax,
            axis: -1,
            coerce_2d: false,
        };
        let y = run(sm, &[Some(&x)]).unwrap();
        let e = (2f32).exp();
        close(
            y[0].as_slice::<f32>().unwrap(),
            &[0.5, 0.5, 1.0 / (1.0 + e), e / (1.0 + e)],
        );
        let lsm = ReduceOp::Softmax {
            kind: SoftmaxKind::LogSoftmax,
            axis: 0,
            coerce_2d: false,
        };
        let y = run(lsm, &[Some(&x)]).unwrap();
        let l1 = -(1.0 + (1f32).exp()).ln();
        let l3 = -(1.0 + (3f32).exp()).ln();
        close(y[0].as_slice::<f32>().unwrap(), &[l1, l3, 1.0 + l1, 3.0 + l3]);
        let hm = ReduceOp::Softmax {
            kind: SoftmaxKind::Hardmax,
            axis: 0,
            coerce_2d: true,
        };
        let y = run(hm, &[Some(&x)]).unwrap();
        close(y[0].as_slice::<f32>().unwrap(), &[0.0, 0.0, 0.0, 1.0]);
        let bad = ReduceOp::Softmax {
            kind: SoftmaxKind::Softmax,
            axis: 5,
            coerce_2d: false,
        };
        assert!(run(bad, &[Some(&x)]).is_err());
    }

    #[test]
    fn fast_exp_is_accurate() {
        let mut x = -90.0f32;
        while x < 88.7 {
            let want = (x as f64).exp();
            let got = softmax::exp_f32(x) as f64;
            assert!(
                (got - want).abs() <= 3e-7 * want + 1e-37,
                "exp({x}) = {got}, want {want}"
            );
            x += 0.0137;
        }
        assert_eq!(softmax::exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(softmax::exp_f32(f32::NAN).is_nan());
        assert_eq!(softmax::exp_f32(100.0), f32::INFINITY);
    }

    #[test]
    fn nll_and_sce() {
        // N=2, C=3.
        let x = t(&[2, 3], &[-1.0, -2.0, -3.0, -4.0, -5.0, -6.0]);
        let target = Tensor::from_vec(vec![2], vec![2i64, 0]).unwrap();
        let w = t(&[3], &[1.0, 2.0, 3.0]);
        let op = ReduceOp::NllLoss {
            reduction: LossReduction::Mean,
            ignore_index: None,
        };
        let y = run(op, &[Some(&x), Some(&target), Some(&w)]).unwrap();
        close(y[0].as_slice::<f32>().unwrap(), &[(3.0 * 3.0 + 4.0) / 4.0]);
        let op = ReduceOp::NllLoss {
            reduction: LossReduction::None,
            ignore_index: Some(0),
        };
        let y = run(op, &[Some(&x), Some(&target)]).unwrap();
        close(y[0].as_slice::<f32>().unwrap(), &[3.0, 0.0]);
        let sce = ReduceOp::SoftmaxCrossEntropyLoss {
            reduction: LossReduction::Sum,
            ignore_index: None,
        };
        let z = t(&[1, 2], &[0.0, 0.0]);
        let lab = Tensor::from_vec(vec![1], vec![1i64]).unwrap();
        let y = run(sce.clone(), &[Some(&z), Some(&lab)]).unwrap();
        close(y[0].as_slice::<f32>().unwrap(), &[std::f32::consts::LN_2]);
        close(y[1].as_slice::<f32>().unwrap(), &[-std::f32::consts::LN_2; 2]);
        let bad = Tensor::from_vec(vec![1], vec![7i64]).unwrap();
        assert!(run(sce, &[Some(&z), Some(&bad)]).is_err());
    }
}
