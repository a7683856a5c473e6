//! NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss over `[N, C, d1, …]` inputs with
//! `[N, d1, …]` integer targets, optional per-class weights and an optional ignored index.

use super::softmax::softmax_real;
use super::LossReduction;
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::TensorType;
use crate::tensor::{HostElem, Tensor};
use crate::util::{opt, req, req_ty};

/// Output type of the loss: the input's dtype, the target's shape or a scalar.
fn loss_type(op: &str, reduction: LossReduction, inputs: &[InferInput]) -> Result<TensorType> {
    let x = req_ty(op, inputs, 0)?;
    let t = req_ty(op, inputs, 1)?;
    Ok(match reduction {
        LossReduction::None => TensorType { dtype: x.dtype, shape: t.shape.clone() },
        _ => TensorType::known(x.dtype, &[]),
    })
}

/// Static inference for NegativeLogLikelihoodLoss.
pub(super) fn infer_nll(op: &str, reduction: LossReduction, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    Ok(vec![loss_type(op, reduction, inputs)?])
}

/// Static inference for SoftmaxCrossEntropyLoss (loss, log-probabilities).
pub(super) fn infer_sce(op: &str, reduction: LossReduction, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    Ok(vec![loss_type(op, reduction, inputs)?, req_ty(op, inputs, 0)?.clone()])
}

/// The validated geometry of a loss node: `N`, `C`, the flattened trailing size `D`.
struct Geometry {
    n: usize,
    c: usize,
    d: usize,
}

/// Check input/target/weight shapes and return the geometry.
fn geometry(op: &str, x: &Tensor, target: &Tensor, weight: Option<&Tensor>) -> Result<Geometry> {
    let s = x.shape();
    if s.len() < 2 {
        return Err(KernelError::invalid(op, format!("input must have rank >= 2, found shape {s:?}")));
    }
    if !x.dtype().is_float() {
        return Err(KernelError::unsupported(op, format!("input dtype {}", x.dtype())));
    }
    if !target.dtype().is_int() {
        return Err(KernelError::invalid(op, format!("target must be an integer tensor, found {}", target.dtype())));
    }
    let expect: Vec<usize> = std::iter::once(s[0]).chain(s[2..].iter().copied()).collect();
    if target.shape() != expect.as_slice() {
        return Err(KernelError::invalid(op, format!("target shape {:?} does not match input shape {s:?}", target.shape())));
    }
    if let Some(w) = weight {
        if w.shape() != [s[1]] {
            return Err(KernelError::invalid(op, format!("weight shape {:?} must be [{}]", w.shape(), s[1])));
        }
    }
    Ok(Geometry { n: s[0], c: s[1], d: s[2..].iter().product() })
}

/// Per-element weighted losses `-logp[n, t, d] * w[t]` and their weights (0 where ignored).
fn gather_losses(
    op: &str,
    g: &Geometry,
    logp: &[f64],
    target: &[i64],
    weight: Option<&[f64]>,
    ignore: Option<i64>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut loss = vec![0.0; g.n * g.d];
    let mut wts = vec![0.0; g.n * g.d];
    for i in 0..g.n {
        for k in 0..g.d {
            let pos = i * g.d + k;
            let t = target[pos];
            if Some(t) == ignore {
                continue;
            }
            if t < 0 || t as usize >= g.c {
                return Err(KernelError::invalid(op, format!("target {t} is out of range for {} classes", g.c)));
            }
            let t = t as usize;
            let w = weight.map_or(1.0, |w| w[t]);
            loss[pos] = -logp[(i * g.c + t) * g.d + k] * w;
            wts[pos] = w;
        }
    }
    Ok((loss, wts))
}

/// Apply the reduction and build the loss tensor of `dtype`-like element `T`.
fn reduce_loss<T: HostElem>(reduction: LossReduction, loss: Vec<f64>, wts: &[f64], shape: &[usize]) -> Result<Tensor> {
    let v: Vec<T> = match reduction {
        LossReduction::None => return Tensor::from_vec(shape.to_vec(), loss.into_iter().map(T::from_f64).collect()),
        LossReduction::Sum => vec![T::from_f64(loss.iter().sum())],
        LossReduction::Mean => vec![T::from_f64(loss.iter().sum::<f64>() / wts.iter().sum::<f64>())],
    };
    Tensor::from_vec(vec![], v)
}

/// Build the loss tensor with the input's dtype.
fn loss_tensor(op: &str, x: &Tensor, reduction: LossReduction, loss: Vec<f64>, wts: &[f64], shape: &[usize]) -> Result<Tensor> {
    crate::dispatch_float!(x.dtype(), reduce_loss(reduction, loss, wts, shape),
        other => Err(KernelError::unsupported(op, format!("input dtype {}", x.dtype()))))
}

/// Run NegativeLogLikelihoodLoss.
pub(super) fn run_nll(op: &str, reduction: LossReduction, ignore: Option<i64>, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = req(op, inputs, 0)?;
    let target = req(op, inputs, 1)?;
    let weight = opt(inputs, 2);
    let g = geometry(op, x, target, weight)?;
    let w = weight.map(|w| w.to_f64_vec()).transpose()?;
    let (loss, wts) = gather_losses(op, &g, &x.to_f64_vec()?, &target.to_i64_vec()?, w.as_deref(), ignore)?;
    Ok(vec![loss_tensor(op, x, reduction, loss, &wts, target.shape())?])
}

/// Run SoftmaxCrossEntropyLoss: log-softmax over axis 1, then the NLL loss.
pub(super) fn run_sce(op: &str, reduction: LossReduction, ignore: Option<i64>, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = req(op, inputs, 0)?;
    let target = req(op, inputs, 1)?;
    let weight = opt(inputs, 2);
    let g = geometry(op, x, target, weight)?;
    let logp = softmax_real(&x.to_f64_vec()?, true, (g.n, g.c, g.d));
    let w = weight.map(|w| w.to_f64_vec()).transpose()?;
    let (loss, wts) = gather_losses(op, &g, &logp, &target.to_i64_vec()?, w.as_deref(), ignore)?;
    let loss = loss_tensor(op, x, reduction, loss, &wts, target.shape())?;
    let log_prob = Tensor::from_vec(x.shape().to_vec(), logp)?.cast(x.dtype())?;
    Ok(vec![loss, log_prob])
}
