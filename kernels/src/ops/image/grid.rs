//! GridSample and AffineGrid.

use super::{from_f64, GridPadding, InterpMode};
use crate::error::{KernelError, Result};
use crate::tensor::Tensor;
use crate::util::req;

/// Normalised coordinate in [-1, 1] → pixel coordinate.
fn denormalize(v: f64, len: usize, align_corners: bool) -> f64 {
    let l = len as f64;
    if align_corners {
        (v + 1.0) / 2.0 * (l - 1.0)
    } else {
        ((v + 1.0) * l - 1.0) / 2.0
    }
}

/// Reflect `x` at the borders `lo`/`hi` until it lies inside.
fn reflect(x: f64, lo: f64, hi: f64) -> f64 {
    let rng = hi - lo;
    if rng <= 0.0 {
        return lo;
    }
    if x < lo {
        let dx = lo - x;
        let n = (dx / rng).trunc();
        let r = dx - n * rng;
        if n as i64 % 2 == 0 {
            lo + r
        } else {
            hi - r
        }
    } else if x > hi {
        let dx = x - hi;
        let n = (dx / rng).trunc();
        let r = dx - n * rng;
        if n as i64 % 2 == 0 {
            hi - r
        } else {
            lo + r
        }
    } else {
        x
    }
}

/// Keys cubic weights (a = -0.75) for the fractional offset `t` in [0, 1).
fn cubic4(t: f64) -> [f64; 4] {
    let a = -0.75;
    let near = |x: f64| ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    let far = |x: f64| ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
    [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]
}

/// GridSample: sample `X [N, C, D1..Dr]` at `grid [N, O1..Or, r]` (last axis x, y, z…).
pub(super) fn grid_sample(inputs: &[Option<&Tensor>], mode: InterpMode, padding: GridPadding, align_corners: bool) -> Result<Tensor> {
    const OP: &str = "GridSample";
    let x = req(OP, inputs, 0)?;
    let grid = req(OP, inputs, 1)?;
    let xs = x.shape();
    let gs = grid.shape();
    if xs.len() < 3 || gs.len() != xs.len() || gs[0] != xs[0] || gs[gs.len() - 1] != xs.len() - 2 {
        return Err(KernelError::invalid(OP, format!("X {xs:?} and grid {gs:?} do not fit")));
    }
    if xs[2..].contains(&0) {
        return Err(KernelError::invalid(OP, format!("X {xs:?} has an empty spatial axis")));
    }
    let r = xs.len() - 2;
    let (n, c) = (xs[0], xs[1]);
    let dims = &xs[2..];
    let in_size: usize = dims.iter().product();
    let out_sp = &gs[1..gs.len() - 1];
    let out_size: usize = out_sp.iter().product();
    let xv = x.to_f64_vec()?;
    let gv = grid.to_f64_vec()?;
    let (lo, hi): (Vec<f64>, Vec<f64>) = dims
        .iter()
        .map(|&d| if align_corners { (0.0, d as f64 - 1.0) } else { (-0.5, d as f64 - 0.5) })
        .unzip();
    // Map an integer index along dim `i` to a pixel index, or None (zero padding).
    let pixel = |i: usize, k: i64| -> Option<usize> {
        let d = dims[i] as i64;
        match padding {
            GridPadding::Zeros => (k >= 0 && k < d).then_some(k as usize),
            GridPadding::Border => Some(k.clamp(0, d - 1) as usize),
            GridPadding::Reflection => Some((reflect(k as f64, lo[i], hi[i]) as i64).clamp(0, d - 1) as usize),
        }
    };
    let mut out = vec![0.0; n * c * out_size];
    let mut taps: Vec<Vec<(Option<usize>, f64)>> = vec![Vec::new(); r];
    for b in 0..n {
        for o in 0..out_size {
            let g = &gv[(b * out_size + o) * r..(b * out_size + o + 1) * r];
            for i in 0..r {
                let mut v = denormalize(g[r - 1 - i], dims[i], align_corners);
                if mode == InterpMode::Nearest {
                    v = v.round_ties_even();
                }
                if v < lo[i] || v > hi[i] {
                    match padding {
                        GridPadding::Border => v = v.clamp(0.0, dims[i] as f64 - 1.0),
                        GridPadding::Reflection => v = reflect(v, lo[i], hi[i]),
                        GridPadding::Zeros => {}
                    }
                }
                let t = &mut taps[i];
                t.clear();
                if !v.is_finite() {
                    t.push((None, 0.0));
                    continue;
                }
                let f = v.floor();
                let k0 = f as i64;
                match mode {
                    InterpMode::Nearest => t.push((pixel(i, v as i64), 1.0)),
                    InterpMode::Linear => {
                        t.push((pixel(i, k0), 1.0 - (v - f)));
                        t.push((pixel(i, k0 + 1), v - f));
                    }
                    InterpMode::Cubic => {
                        for (j, w) in cubic4(v - f).into_iter().enumerate() {
                            t.push((pixel(i, k0 - 1 + j as i64), w));
                        }
                    }
                }
            }
            // Combine the per-dim taps into (flat offset, weight) pairs.
            let mut combos: Vec<(usize, f64)> = vec![(0, 1.0)];
            for (i, t) in taps.iter().enumerate() {
                let mut next = Vec::with_capacity(combos.len() * t.len());
                for &(off, w) in &combos {
                    // Zero-padded taps (None) contribute nothing.
                    for &(k, wk) in t {
                        if let Some(k) = k {
                            next.push((off * dims[i] + k, w * wk));
                        }
                    }
                }
                combos = next;
            }
            for ch in 0..c {
                let base = (b * c + ch) * in_size;
                out[(b * c + ch) * out_size + o] = combos.iter().map(|&(off, w)| w * xv[base + off]).sum();
            }
        }
    }
    let mut shape = vec![n, c];
    shape.extend_from_slice(out_sp);
    from_f64(OP, shape, out, x.dtype())
}

/// Output shape of AffineGrid for a `size` value `[N, C, H, W]` or `[N, C, D, H, W]`.
pub(super) fn affine_grid_shape(size: &[i64]) -> Result<Vec<usize>> {
    let s: Vec<usize> = size
        .iter()
        .map(|&v| usize::try_from(v).map_err(|_| KernelError::invalid("AffineGrid", format!("negative size {size:?}"))))
        .collect::<Result<_>>()?;
    match s.len() {
        4 => Ok(vec![s[0], s[2], s[3], 2]),
        5 => Ok(vec![s[0], s[2], s[3], s[4], 3]),
        _ => Err(KernelError::invalid("AffineGrid", format!("size must have 4 or 5 values, found {size:?}"))),
    }
}

/// Base grid coordinate `i` of `len` points in [-1, 1].
fn base_coord(i: usize, len: usize, align_corners: bool) -> f64 {
    if align_corners {
        if len <= 1 {
            -1.0
        } else {
            -1.0 + 2.0 * i as f64 / (len - 1) as f64
        }
    } else {
        -1.0 + (2 * i + 1) as f64 / len as f64
    }
}

/// AffineGrid: `grid[n, (d,) h, w] = theta[n] · [x, y, (z,) 1]`.
pub(super) fn affine_grid(inputs: &[Option<&Tensor>], align_corners: bool) -> Result<Tensor> {
    const OP: &str = "AffineGrid";
    let theta = req(OP, inputs, 0)?;
    let size = req(OP, inputs, 1)?.to_i64_vec()?;
    let out_shape = affine_grid_shape(&size)?;
    super::checked_len("AffineGrid", &out_shape)?;
    let nd = out_shape[out_shape.len() - 1];
    let n = out_shape[0];
    if theta.shape() != [n, nd, nd + 1] {
        return Err(KernelError::invalid(OP, format!("theta shape {:?} does not fit size {size:?}", theta.shape())));
    }
    if !theta.dtype().is_float() {
        return Err(KernelError::invalid(OP, format!("theta must be a float tensor, found {}", theta.dtype())));
    }
    let tv = theta.to_f64_vec()?;
    // Spatial sizes in (D,) H, W order; coordinates are (x, y, z) = reversed.
    let sp = &out_shape[1..out_shape.len() - 1];
    let npts: usize = sp.iter().product();
    let mut out = Vec::with_capacity(n * npts * nd);
    let mut hom = vec![1.0; nd + 1];
    for b in 0..n {
        let th = &tv[b * nd * (nd + 1)..(b + 1) * nd * (nd + 1)];
        for p in 0..npts {
            let mut rem = p;
            for (j, &len) in sp.iter().enumerate().rev() {
                // Spatial axis j (from the outermost) is coordinate nd-1-j.
                hom[nd - 1 - j] = base_coord(rem % len, len, align_corners);
                rem /= len;
            }
            for row in 0..nd {
                out.push((0..=nd).map(|k| th[row * (nd + 1) + k] * hom[k]).sum());
            }
        }
    }
    from_f64(OP, out_shape, out, theta.dtype())
}
