//! RnnOp family: the ONNX recurrent layers RNN, GRU and LSTM.
//!
//! Everything is computed in f64 and rounded to the input dtype at the end. The input
//! projection of all time steps is one matrix product; the recurrence runs step by step.

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::shape::{Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{opt, req, req_ty};

/// An activation function of a recurrent cell, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// tanh(x).
    Tanh,
    /// 1 / (1 + e^-x).
    Sigmoid,
    /// alpha * x + beta.
    Affine { alpha: f32, beta: f32 },
    /// x if x >= 0 else alpha * x.
    LeakyRelu { alpha: f32 },
    /// x if x > alpha else 0.
    ThresholdedRelu { alpha: f32 },
    /// alpha * tanh(beta * x).
    ScaledTanh { alpha: f32, beta: f32 },
    /// clamp(alpha * x + beta, 0, 1).
    HardSigmoid { alpha: f32, beta: f32 },
    /// x if x >= 0 else alpha * (e^x - 1).
    Elu { alpha: f32 },
    /// x / (1 + |x|).
    Softsign,
    /// ln(1 + e^x).
    Softplus,
}

impl Activation {
    /// Apply the function.
    #[inline]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Affine { alpha, beta } => alpha as f64 * x + beta as f64,
            Activation::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha as f64 * x
                }
            }
            Activation::ThresholdedRelu { alpha } => {
                if x > alpha as f64 {
                    x
                } else {
                    0.0
                }
            }
            Activation::ScaledTanh { alpha, beta } => alpha as f64 * (beta as f64 * x).tanh(),
            Activation::HardSigmoid { alpha, beta } => (alpha as f64 * x + beta as f64).clamp(0.0, 1.0),
            Activation::Elu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha as f64 * (x.exp() - 1.0)
                }
            }
            Activation::Softsign => x / (1.0 + x.abs()),
            Activation::Softplus => x.exp().ln_1p(),
        }
    }
}

/// Which way(s) a recurrent layer runs over the sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// First to last step.
    Forward,
    /// Last to first step.
    Reverse,
    /// Both, outputs stacked as directions 0 (forward) and 1 (reverse).
    Bidirectional,
}

impl Direction {
    /// Number of directions (1 or 2).
    pub fn count(self) -> usize {
        if self == Direction::Bidirectional {
            2
        } else {
            1
        }
    }
}

/// Attributes shared by RNN, GRU and LSTM.
#[derive(Clone, Debug, PartialEq)]
pub struct RnnConfig {
    /// Direction(s).
    pub direction: Direction,
    /// Hidden size H.
    pub hidden_size: usize,
    /// Activations: per direction, the cell's functions in order (RNN 1, GRU 2, LSTM 3).
    pub activations: Vec<Activation>,
    /// Clip gate pre-activations to [-clip, clip].
    pub clip: Option<f32>,
    /// True for layout 1 (batch-major X, Y, states).
    pub batch_first: bool,
}

/// The recurrent ops.
#[derive(Clone, Debug, PartialEq)]
pub enum RnnOp {
    /// Elman RNN: `H = f(X W^T + H R^T + b)`.
    Rnn(RnnConfig),
    /// GRU with gates z, r, h.
    Gru {
        /// Shared attributes.
        cfg: RnnConfig,
        /// Apply the reset gate after the recurrent product.
        linear_before_reset: bool,
    },
    /// LSTM with gates i, o, f, c (and optional peepholes).
    Lstm {
        /// Shared attributes.
        cfg: RnnConfig,
        /// Couple the input and forget gates (f = 1 - i).
        input_forget: bool,
    },
}

/// The kind of cell, for the shared driver.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cell {
    Rnn,
    Gru { lbr: bool },
    Lstm { input_forget: bool },
}

impl Cell {
    /// Number of gates (row blocks of W and R).
    fn gates(self) -> usize {
        match self {
            Cell::Rnn => 1,
            Cell::Gru { .. } => 3,
            Cell::Lstm { .. } => 4,
        }
    }
    /// Number of activation functions per direction.
    fn num_activations(self) -> usize {
        match self {
            Cell::Rnn => 1,
            Cell::Gru { .. } => 2,
            Cell::Lstm { .. } => 3,
        }
    }
}

impl RnnOp {
    fn parts(&self) -> (&RnnConfig, Cell) {
        match self {
            RnnOp::Rnn(c) => (c, Cell::Rnn),
            RnnOp::Gru {
                cfg,
                linear_before_reset,
            } => (
                cfg,
                Cell::Gru {
                    lbr: *linear_before_reset,
                },
            ),
            RnnOp::Lstm { cfg, input_forget } => (
                cfg,
                Cell::Lstm {
                    input_forget: *input_forget,
                },
            ),
        }
    }
}

/// Default activations for a cell kind, one direction.
pub fn default_activations(op_type: &str) -> Vec<Activation> {
    match op_type {
        "RNN" => vec![Activation::Tanh],
        "GRU" => vec![Activation::Sigmoid, Activation::Tanh],
        _ => vec![Activation::Sigmoid, Activation::Tanh, Activation::Tanh],
    }
}

impl OpImpl for RnnOp {
    fn name(&self) -> &'static str {
        match self {
            RnnOp::Rnn(_) => "RNN",
            RnnOp::Gru { .. } => "GRU",
            RnnOp::Lstm { .. } => "LSTM",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let (cfg, cell) = self.parts();
        let x = req_ty(self.name(), inputs, 0)?;
        let dt = x.dtype;
        let nd = Dim::Known(cfg.direction.count());
        let h = Dim::Known(cfg.hidden_size);
        let (seq, batch) = match &x.shape {
            Some(s) if s.len() == 3 => {
                if cfg.batch_first {
                    (s[1].clone(), s[0].clone())
                } else {
                    (s[0].clone(), s[1].clone())
                }
            }
            Some(s) => {
                return Err(KernelError::invalid(
                    self.name(),
                    format!("X must have rank 3, found rank {}", s.len()),
                ))
            }
            None => (Dim::Unknown, Dim::Unknown),
        };
        let (y, yh) = if cfg.batch_first {
            (vec![batch.clone(), seq, nd.clone(), h.clone()], vec![batch, nd, h])
        } else {
            (vec![seq, nd.clone(), batch.clone(), h.clone()], vec![nd, batch, h])
        };
        let mut out = vec![
            TensorType {
                dtype: dt,
                shape: Some(y),
            },
            TensorType {
                dtype: dt,
                shape: Some(yh.clone()),
            },
        ];
        if matches!(cell, Cell::Lstm { .. }) {
            out.push(TensorType {
                dtype: dt,
                shape: Some(yh),
            });
        }
        Ok(out)
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let (cfg, cell) = self.parts();
        run_rnn(self.name(), cfg, cell, inputs)
    }

    fn flops(&self, inputs: &[Option<&[usize]>], _outputs: &[&[usize]]) -> u64 {
        let (cfg, cell) = self.parts();
        let x: usize = inputs
            .first()
            .copied()
            .flatten()
            .map(|s| s.iter().product())
            .unwrap_or(0);
        let gh = cell.gates() * cfg.hidden_size;
        let steps_batch = x / inputs
            .first()
            .copied()
            .flatten()
            .and_then(|s| s.last().copied())
            .unwrap_or(1)
            .max(1);
        (2 * (x * gh + steps_batch * cfg.hidden_size * gh) * cfg.direction.count()) as u64
    }
}

/// Problem sizes of one call.
struct Dims {
    seq: usize,
    batch: usize,
    input: usize,
    hidden: usize,
    dirs: usize,
}

/// An optional input as f64, checked to have exactly `n` elements.
fn opt_f64(op: &str, t: Option<&Tensor>, what: &str, n: usize) -> Result<Option<Vec<f64>>> {
    match t {
        None => Ok(None),
        Some(t) if t.len() == n => Ok(Some(t.to_f64_vec()?)),
        Some(t) => Err(KernelError::invalid(
            op,
            format!("{what} has shape {:?}, expected {n} elements", t.shape()),
        )),
    }
}

/// Transpose the first two axes of a 3-D row-major buffer `[a, b, c]` → `[b, a, c]`.
fn swap01(v: &[f64], a: usize, b: usize, c: usize) -> Vec<f64> {
    let mut out = vec![0.0; v.len()];
    for i in 0..a {
        for j in 0..b {
            out[(j * a + i) * c..(j * a + i + 1) * c].copy_from_slice(&v[(i * b + j) * c..(i * b + j + 1) * c]);
        }
    }
    out
}

/// `out[m×n] = a[m×k] · b[n×k]^T` (b row-major, used transposed).
fn matmul_bt(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    if m == 0 || n == 0 || k == 0 {
        return out;
    }
    // SAFETY: a holds m*k, b holds n*k and out holds m*n elements (checked by the callers'
    // shape validation); the strides describe exactly those row-major buffers.
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            1,
            k as isize,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
    out
}

/// `out[j] = sum_k h[k] * r[(row0 + j) * hk + k]` for `j < n`: a row of `h · R[rows]^T`.
#[inline]
fn gemv_rows(h: &[f64], r: &[f64], row0: usize, n: usize, out: &mut [f64]) {
    let hk = h.len();
    for j in 0..n {
        let row = &r[(row0 + j) * hk..(row0 + j + 1) * hk];
        out[j] = row.iter().zip(h).map(|(a, b)| a * b).sum();
    }
}

/// Weights of one direction.
struct DirWeights<'a> {
    r: &'a [f64],
    wb: Vec<f64>,
    rb: Vec<f64>,
    p: Option<&'a [f64]>,
    acts: &'a [Activation],
}

fn run_rnn(op: &str, cfg: &RnnConfig, cell: Cell, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = req(op, inputs, 0)?;
    let w = req(op, inputs, 1)?;
    let r = req(op, inputs, 2)?;
    if !x.dtype().is_float() {
        return Err(KernelError::invalid(
            op,
            format!("X must be a float tensor, found {}", x.dtype()),
        ));
    }
    if x.rank() != 3 {
        return Err(KernelError::invalid(
            op,
            format!("X must have rank 3, found shape {:?}", x.shape()),
        ));
    }
    let xs = x.shape();
    let (seq, batch) = if cfg.batch_first {
        (xs[1], xs[0])
    } else {
        (xs[0], xs[1])
    };
    let d = Dims {
        seq,
        batch,
        input: xs[2],
        hidden: cfg.hidden_size,
        dirs: cfg.direction.count(),
    };
    let g = cell.gates();
    let gh = g * d.hidden;
    if w.shape() != [d.dirs, gh, d.input] || r.shape() != [d.dirs, gh, d.hidden] {
        return Err(KernelError::invalid(
            op,
            format!(
                "W {:?} / R {:?} do not fit {} direction(s), {} gates, hidden {}, input {}",
                w.shape(),
                r.shape(),
                d.dirs,
                g,
                d.hidden,
                d.input
            ),
        ));
    }
    let na = cell.num_activations();
    if cfg.activations.len() != na * d.dirs {
        return Err(KernelError::invalid(
            op,
            format!("expected {} activations, found {}", na * d.dirs, cfg.activations.len()),
        ));
    }
    let bh = d.batch * d.hidden;
    let b = opt_f64(op, opt(inputs, 3), "B", d.dirs * 2 * gh)?;
    let lens = match opt(inputs, 4) {
        None => vec![d.seq; d.batch],
        Some(t) if t.len() == d.batch => {
            let v = t.to_i64_vec()?;
            v.iter()
                .map(|&l| usize::try_from(l).ok().filter(|&l| l <= d.seq))
                .collect::<Option<Vec<usize>>>()
                .ok_or_else(|| KernelError::invalid(op, format!("sequence_lens {v:?} out of range 0..={}", d.seq)))?
        }
        Some(t) => {
            return Err(KernelError::invalid(
                op,
                format!("sequence_lens has shape {:?}, expected [{}]", t.shape(), d.batch),
            ))
        }
    };
    let mut h0 = opt_f64(op, opt(inputs, 5), "initial_h", d.dirs * bh)?;
    let mut c0 = opt_f64(op, opt(inputs, 6), "initial_c", d.dirs * bh)?;
    let p = opt_f64(op, opt(inputs, 7), "P", d.dirs * 3 * d.hidden)?;
    if cfg.batch_first {
        // States arrive as [batch, dirs, H]; work in [dirs, batch, H].
        h0 = h0.map(|v| swap01(&v, d.batch, d.dirs, d.hidden));
        c0 = c0.map(|v| swap01(&v, d.batch, d.dirs, d.hidden));
    }
    let mut xv = x.to_f64_vec()?;
    if cfg.batch_first {
        xv = swap01(&xv, d.batch, d.seq, d.input);
    }
    let wv = w.to_f64_vec()?;
    let rv = r.to_f64_vec()?;
    // Y as [seq, dirs, batch, H]; states as [dirs, batch, H].
    let mut y = vec![0.0; d.seq * d.dirs * bh];
    let mut yh = vec![0.0; d.dirs * bh];
    let mut yc = vec![0.0; d.dirs * bh];
    for dir in 0..d.dirs {
        let reverse = cfg.direction == Direction::Reverse || dir == 1;
        let wd = &wv[dir * gh * d.input..(dir + 1) * gh * d.input];
        let xw = matmul_bt(&xv, wd, d.seq * d.batch, d.input, gh);
        let (wb, rb) = match &b {
            Some(b) => {
                let bd = &b[dir * 2 * gh..(dir + 1) * 2 * gh];
                (bd[..gh].to_vec(), bd[gh..].to_vec())
            }
            None => (vec![0.0; gh], vec![0.0; gh]),
        };
        let dw = DirWeights {
            r: &rv[dir * gh * d.hidden..(dir + 1) * gh * d.hidden],
            wb,
            rb,
            p: p.as_ref().map(|p| &p[dir * 3 * d.hidden..(dir + 1) * 3 * d.hidden]),
            acts: &cfg.activations[dir * na..(dir + 1) * na],
        };
        for bi in 0..d.batch {
            let off = (dir * d.batch + bi) * d.hidden;
            let mut h = h0
                .as_ref()
                .map(|v| v[off..off + d.hidden].to_vec())
                .unwrap_or_else(|| vec![0.0; d.hidden]);
            let mut c = c0
                .as_ref()
                .map(|v| v[off..off + d.hidden].to_vec())
                .unwrap_or_else(|| vec![0.0; d.hidden]);
            let len = lens[bi];
            for s in 0..len {
                let t = if reverse { len - 1 - s } else { s };
                let xrow = &xw[(t * d.batch + bi) * gh..(t * d.batch + bi + 1) * gh];
                step(cell, cfg.clip, &dw, xrow, &mut h, &mut c);
                let yo = ((t * d.dirs + dir) * d.batch + bi) * d.hidden;
                y[yo..yo + d.hidden].copy_from_slice(&h);
            }
            yh[off..off + d.hidden].copy_from_slice(&h);
            yc[off..off + d.hidden].copy_from_slice(&c);
        }
    }
    let dt = x.dtype();
    let (y, yh, yc, yshape, hshape) = if cfg.batch_first {
        // [seq, dirs, batch, H] → [batch, seq, dirs, H]; [dirs, batch, H] → [batch, dirs, H].
        let y = swap01(&y, d.seq * d.dirs, d.batch, d.hidden);
        (
            y,
            swap01(&yh, d.dirs, d.batch, d.hidden),
            swap01(&yc, d.dirs, d.batch, d.hidden),
            vec![d.batch, d.seq, d.dirs, d.hidden],
            vec![d.batch, d.dirs, d.hidden],
        )
    } else {
        (
            y,
            yh,
            yc,
            vec![d.seq, d.dirs, d.batch, d.hidden],
            vec![d.dirs, d.batch, d.hidden],
        )
    };
    let mk = |shape: Vec<usize>, v: Vec<f64>| -> Result<Tensor> {
        let t = Tensor::from_vec(shape, v)?;
        if dt == DType::F64 {
            Ok(t)
        } else {
            t.cast(dt)
        }
    };
    let mut out = vec![mk(yshape, y)?, mk(hshape.clone(), yh)?];
    if matches!(cell, Cell::Lstm { .. }) {
        out.push(mk(hshape, yc)?);
    }
    Ok(out)
}

/// Clip a gate pre-activation when `clip` is set.
#[inline]
fn clipped(v: f64, clip: Option<f32>) -> f64 {
    match clip {
        // abs() keeps the bounds ordered, so clamp cannot panic; NaN clips nothing.
        Some(c) if !c.is_nan() => v.clamp(-(c.abs() as f64), c.abs() as f64),
        _ => v,
    }
}

/// One time step for one batch row: updates `h` (and `c` for LSTM) in place.
fn step(cell: Cell, clip: Option<f32>, w: &DirWeights, xrow: &[f64], h: &mut [f64], c: &mut [f64]) {
    let hs = h.len();
    match cell {
        Cell::Rnn => {
            let mut hr = vec![0.0; hs];
            gemv_rows(h, w.r, 0, hs, &mut hr);
            for j in 0..hs {
                h[j] = w.acts[0].apply(clipped(xrow[j] + hr[j] + w.wb[j] + w.rb[j], clip));
            }
        }
        Cell::Gru { lbr } => {
            let (f, g) = (w.acts[0], w.acts[1]);
            let mut hr = vec![0.0; 3 * hs];
            gemv_rows(h, w.r, 0, 2 * hs, &mut hr[..2 * hs]);
            let z: Vec<f64> = (0..hs)
                .map(|j| f.apply(clipped(xrow[j] + hr[j] + w.wb[j] + w.rb[j], clip)))
                .collect();
            let rg: Vec<f64> = (hs..2 * hs)
                .map(|j| f.apply(clipped(xrow[j] + hr[j] + w.wb[j] + w.rb[j], clip)))
                .collect();
            let mut hh = vec![0.0; hs];
            if lbr {
                gemv_rows(h, w.r, 2 * hs, hs, &mut hr[2 * hs..]);
                for (j, hj) in hh.iter_mut().enumerate() {
                    let k = 2 * hs + j;
                    *hj = g.apply(clipped(xrow[k] + rg[j] * (hr[k] + w.rb[k]) + w.wb[k], clip));
                }
            } else {
                let rh: Vec<f64> = rg.iter().zip(h.iter()).map(|(a, b)| a * b).collect();
                gemv_rows(&rh, w.r, 2 * hs, hs, &mut hr[2 * hs..]);
                for (j, hj) in hh.iter_mut().enumerate() {
                    let k = 2 * hs + j;
                    *hj = g.apply(clipped(xrow[k] + hr[k] + w.rb[k] + w.wb[k], clip));
                }
            }
            for ((hj, &zj), &cand) in h.iter_mut().zip(&z).zip(&hh) {
                *hj = (1.0 - zj) * cand + zj * *hj;
            }
        }
        Cell::Lstm { input_forget } => {
            let (f, g, hf) = (w.acts[0], w.acts[1], w.acts[2]);
            let mut hr = vec![0.0; 4 * hs];
            gemv_rows(h, w.r, 0, 4 * hs, &mut hr);
            let pre = |k: usize| xrow[k] + hr[k] + w.wb[k] + w.rb[k];
            let peep = |blk: usize, j: usize| w.p.map_or(0.0, |p| p[blk * hs + j]);
            for j in 0..hs {
                let (ii, oi, fi, ci) = (j, hs + j, 2 * hs + j, 3 * hs + j);
                let it = f.apply(clipped(pre(ii) + peep(0, j) * c[j], clip));
                let ft = if input_forget {
                    1.0 - it
                } else {
                    f.apply(clipped(pre(fi) + peep(2, j) * c[j], clip))
                };
                let ct = g.apply(clipped(pre(ci), clip));
                let cn = ft * c[j] + it * ct;
                let ot = f.apply(clipped(pre(oi) + peep(1, j) * cn, clip));
                c[j] = cn;
                h[j] = ot * hf.apply(cn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(h: usize, acts: Vec<Activation>) -> RnnConfig {
        RnnConfig {
            direction: Direction::Forward,
            hidden_size: h,
            activations: acts,
            clip: None,
            batch_first: false,
        }
    }

    fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    #[test]
    fn simple_rnn_one_unit() {
        // h1 = tanh(0.5*1 + 0) ; h2 = tanh(0.5*2 + 0.25*h1)
        let op = RnnOp::Rnn(cfg(1, vec![Activation::Tanh]));
        let x = t(&[2, 1, 1], vec![1.0, 2.0]);
        let w = t(&[1, 1, 1], vec![0.5]);
        let r = t(&[1, 1, 1], vec![0.25]);
        let out = op.run(&[Some(&x), Some(&w), Some(&r)]).unwrap();
        let h1 = 0.5f64.tanh();
        let h2 = (1.0 + 0.25 * h1).tanh();
        let y = out[0].as_slice::<f32>().unwrap();
        assert!((y[0] as f64 - h1).abs() < 1e-6 && (y[1] as f64 - h2).abs() < 1e-6);
        assert_eq!(out[1].shape(), &[1, 1, 1]);
        assert!((out[1].as_slice::<f32>().unwrap()[0] as f64 - h2).abs() < 1e-6);
    }

    #[test]
    fn lstm_one_step_by_hand() {
        let acts = default_activations("LSTM");
        let op = RnnOp::Lstm {
            cfg: cfg(1, acts),
            input_forget: false,
        };
        let x = t(&[1, 1, 1], vec![1.0]);
        let w = t(&[1, 4, 1], vec![0.1, 0.2, 0.3, 0.4]);
        let r = t(&[1, 4, 1], vec![0.0; 4]);
        let out = op.run(&[Some(&x), Some(&w), Some(&r)]).unwrap();
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let c = sig(0.1) * 0.4f64.tanh();
        let h = sig(0.2) * c.tanh();
        assert!((out[1].as_slice::<f32>().unwrap()[0] as f64 - h).abs() < 1e-6);
        assert!((out[2].as_slice::<f32>().unwrap()[0] as f64 - c).abs() < 1e-6);
    }

    #[test]
    fn gru_zero_weights_halves_state() {
        // z = r = 0.5, candidate = tanh(0) = 0 → h = 0.5 * h0.
        let op = RnnOp::Gru {
            cfg: cfg(1, default_activations("GRU")),
            linear_before_reset: false,
        };
        let x = t(&[1, 1, 1], vec![1.0]);
        let w = t(&[1, 3, 1], vec![0.0; 3]);
        let r = t(&[1, 3, 1], vec![0.0; 3]);
        let h0 = t(&[1, 1, 1], vec![0.8]);
        let out = op.run(&[Some(&x), Some(&w), Some(&r), None, None, Some(&h0)]).unwrap();
        assert!((out[1].as_slice::<f32>().unwrap()[0] - 0.4).abs() < 1e-6);
    }

    #[test]
    fn bad_weight_shape_is_an_error() {
        let op = RnnOp::Rnn(cfg(2, vec![Activation::Tanh]));
        let x = t(&[1, 1, 1], vec![1.0]);
        let w = t(&[1, 3, 1], vec![0.0; 3]);
        let r = t(&[1, 2, 2], vec![0.0; 4]);
        assert!(op.run(&[Some(&x), Some(&w), Some(&r)]).is_err());
    }
}
