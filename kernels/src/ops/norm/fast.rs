//! f32 fast paths: the per-channel affine of BatchNormalization and LRN with a sliding window.

use crate::buffers::{self, Scratch};
use crate::ops::reduce::for_rows;
use rayon::prelude::*;

/// Elements below which LRN runs sequentially.
const PAR_WORK: usize = 1 << 16;

/// Channels per LRN task (each task restarts its window sum, then slides).
const LRN_BLOCK: usize = 16;

/// `y = x · mul[ch] + add[ch]` over a `[N, C, sp]` f32 tensor (`x.len() == N·C·sp`).
pub(super) fn channel_affine(x: &[f32], c: usize, sp: usize, mul: &[f32], add: &[f32]) -> Vec<f32> {
    let mut y = buffers::zeroed::<f32>(x.len());
    if c == 0 || sp == 0 || mul.len() < c || add.len() < c {
        return y;
    }
    for_rows(&mut y, sp, x.len(), |g, row| {
        let (m, a) = (mul[g % c], add[g % c]);
        for (o, &v) in row.iter_mut().zip(&x[g * sp..(g + 1) * sp]) {
            *o = v * m + a;
        }
    });
    y
}

/// LRN parameters.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lrn {
    /// Window size in channels.
    pub size: usize,
    /// Scale of the square sum.
    pub alpha: f64,
    /// Exponent.
    pub beta: f64,
    /// Offset.
    pub bias: f64,
}

/// LRN over a `[N, C, sp]` f32 tensor of finite values: the channel window's sum of squares
/// slides along the channels (one add and one subtract per element, in f64, where squares of f32
/// values are exact), and the power is taken once per element (by square roots for the common
/// exponents 0.5, 0.75 and 1). Non-finite inputs would poison the sliding sum: callers check.
pub(super) fn lrn(x: &[f32], c: usize, sp: usize, p: Lrn) -> Vec<f32> {
    let mut y = buffers::zeroed::<f32>(x.len());
    if c == 0 || sp == 0 || p.size == 0 {
        return y;
    }
    let img = c * sp;
    for (xi, yi) in x.chunks_exact(img).zip(y.chunks_exact_mut(img)) {
        let block = |(b, out): (usize, &mut [f32])| lrn_block(xi, c, sp, b * LRN_BLOCK, out, p);
        if x.len() > PAR_WORK && c > LRN_BLOCK {
            yi.par_chunks_mut(LRN_BLOCK * sp).enumerate().for_each(block);
        } else {
            yi.chunks_mut(LRN_BLOCK * sp).enumerate().for_each(block);
        }
    }
    y
}

/// Channels `c0..c0 + out.len() / sp` of one image, using AVX2 code generation where the CPU
/// has it. The window sums and a row of zeros come from shared scratch (a warm run allocates
/// nothing).
fn lrn_block(x: &[f32], c: usize, sp: usize, c0: usize, out: &mut [f32], p: Lrn) {
    with_zeroed(&ZEROS, sp, |zeros| {
        with_zeroed(&SQUARES, sp, |sq| {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (detected just above), the only requirement of
                // `lrn_block_avx2`.
                return unsafe { lrn_block_avx2(x, c, sp, c0, out, p, zeros, sq) };
            }
            lrn_block_impl(x, c, sp, c0, out, p, zeros, sq)
        })
    })
}

/// Rows of zeros standing for the channels outside an LRN window (grow-only, shared).
static ZEROS: Scratch<Vec<f32>> = Scratch::new();
/// Window sums of squares of the LRN blocks being computed (grow-only, shared).
static SQUARES: Scratch<Vec<f64>> = Scratch::new();

/// Run `f` on `len` zeros of scratch from `s`.
fn with_zeroed<T: Copy + Default, R>(s: &Scratch<Vec<T>>, len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    buffers::with_scratch(s, len, |v| {
        v.clear();
        v.resize(len, T::default());
        f(v)
    })
}

/// [`lrn_block_impl`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn lrn_block_avx2(x: &[f32], c: usize, sp: usize, c0: usize, out: &mut [f32], p: Lrn, zeros: &[f32], sq: &mut [f64]) {
    lrn_block_impl(x, c, sp, c0, out, p, zeros, sq)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lrn_block_impl(x: &[f32], c: usize, sp: usize, c0: usize, out: &mut [f32], p: Lrn, zeros: &[f32], sq: &mut [f64]) {
    let lo = (p.size - 1) / 2;
    let hi = p.size - 1 - lo;
    let plane = |ch: usize| &x[ch * sp..(ch + 1) * sp];
    // The window of channel c0 minus its last channel; each step below adds the channel that
    // enters (zeros past the end) and removes the one that leaves (zeros before the start).
    for ch in c0.saturating_sub(lo)..(c0 + hi).min(c) {
        for (s, &v) in sq.iter_mut().zip(plane(ch)) {
            *s += v as f64 * v as f64;
        }
    }
    let scale = p.alpha / p.size as f64;
    for (k, orow) in out.chunks_exact_mut(sp).enumerate() {
        let ch = c0 + k;
        let enter = if ch + hi < c { plane(ch + hi) } else { zeros };
        let leave = if k > 0 && ch > lo { plane(ch - lo - 1) } else { zeros };
        let rows = (plane(ch), enter, leave);
        let t = |s: f64| (p.bias + scale * s.max(0.0)) as f32;
        match p.beta {
            0.5 => slide(orow, rows, sq, |v, s| v / t(s).sqrt()),
            0.75 => slide(orow, rows, sq, |v, s| {
                let r = t(s).sqrt();
                v / (r * r.sqrt())
            }),
            1.0 => slide(orow, rows, sq, |v, s| v / t(s)),
            b => {
                let b = b as f32;
                slide(orow, rows, sq, |v, s| v / t(s).powf(b))
            }
        }
    }
}

/// One channel: `sq += enter² - leave²`, then `o[j] = f(x[j], sq[j])`.
#[inline(always)]
fn slide(o: &mut [f32], (x, enter, leave): (&[f32], &[f32], &[f32]), sq: &mut [f64], f: impl Fn(f32, f64) -> f32) {
    let n = o.len();
    let (x, enter, leave, sq) = (&x[..n], &enter[..n], &leave[..n], &mut sq[..n]);
    for j in 0..n {
        let (e, l) = (enter[j] as f64, leave[j] as f64);
        let s = sq[j] + e * e - l * l;
        sq[j] = s;
        o[j] = f(x[j], s);
    }
}
