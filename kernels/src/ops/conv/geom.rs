//! Sliding-window geometry shared by the convolutions and the pools: padding resolution,
//! output sizes, and a 3-D normalised form (1-D and 2-D windows get leading unit dims).

use crate::error::{KernelError, Result};
use crate::shape::Dim;

/// ONNX `auto_pad`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoPad {
    /// Use the explicit `pads`.
    NotSet,
    /// Pad so that `out = ceil(in / stride)`, extra padding at the end.
    SameUpper,
    /// Pad so that `out = ceil(in / stride)`, extra padding at the beginning.
    SameLower,
    /// No padding.
    Valid,
}

impl AutoPad {
    /// Parse the ONNX attribute value.
    pub fn parse(s: &str) -> Option<AutoPad> {
        match s {
            "NOTSET" | "" => Some(AutoPad::NotSet),
            "SAME_UPPER" => Some(AutoPad::SameUpper),
            "SAME_LOWER" => Some(AutoPad::SameLower),
            "VALID" => Some(AutoPad::Valid),
            _ => None,
        }
    }
}

/// Window attributes of a conv or pool; empty vectors mean the ONNX defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// Kernel extent per spatial dim (`None`: take it from the weights).
    pub kernel_shape: Option<Vec<usize>>,
    /// Strides (default 1).
    pub strides: Vec<usize>,
    /// Dilations (default 1).
    pub dilations: Vec<usize>,
    /// Pads, all begins then all ends (default 0).
    pub pads: Vec<usize>,
    /// Automatic padding mode.
    pub auto_pad: AutoPad,
}

/// Maximum number of spatial dims handled by the CPU window kernels.
pub const MAX_DIMS: usize = 3;

/// A resolved window over 3 spatial dims (unused leading dims have extent 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Geom {
    /// Number of real spatial dims (1..=3).
    pub nd: usize,
    /// Input extents.
    pub inp: [usize; 3],
    /// Kernel extents.
    pub k: [usize; 3],
    /// Output extents.
    pub out: [usize; 3],
    /// Strides.
    pub s: [usize; 3],
    /// Dilations.
    pub d: [usize; 3],
    /// Padding before (negative: cropped).
    pub pb: [isize; 3],
    /// Padding after (negative: cropped).
    pub pe: [isize; 3],
}

impl Geom {
    /// Product of the input extents.
    pub fn in_size(&self) -> usize {
        self.inp.iter().product()
    }
    /// Product of the output extents.
    pub fn out_size(&self) -> usize {
        self.out.iter().product()
    }
    /// Product of the kernel extents.
    pub fn k_size(&self) -> usize {
        self.k.iter().product()
    }
    /// The real output spatial dims.
    pub fn out_dims(&self) -> Vec<usize> {
        self.out_slice().to_vec()
    }
    /// Output extents of the real spatial dims.
    pub fn out_slice(&self) -> &[usize] {
        &self.out[3 - self.nd..]
    }
    /// Kernel multi-index (kd, kh, kw) of flat kernel position `k`.
    pub fn k_index(&self, k: usize) -> [usize; 3] {
        [k / (self.k[1] * self.k[2]), (k / self.k[2]) % self.k[1], k % self.k[2]]
    }
}

/// Place `v` (one value per real dim) into the trailing slots of a 3-array filled with `fill`.
pub fn pad3<T: Copy>(v: &[T], fill: T) -> [T; 3] {
    let mut a = [fill; 3];
    let off = 3 - v.len().min(3);
    for (i, &x) in v.iter().take(3).enumerate() {
        a[off + i] = x;
    }
    a
}

/// Attribute vector `v` of length `n` (at most [`MAX_DIMS`]), or `n` copies of `default` when
/// empty; unused trailing slots hold `default`.
fn per_dim(op: &str, what: &str, v: &[usize], n: usize, default: usize) -> Result<[usize; MAX_DIMS]> {
    let mut a = [default; MAX_DIMS];
    if v.is_empty() {
        return Ok(a);
    }
    if v.len() != n {
        return Err(KernelError::invalid(
            op,
            format!("{what} has {} values for {n} spatial dims", v.len()),
        ));
    }
    if default == 1 && v.contains(&0) {
        return Err(KernelError::invalid(op, format!("{what} must be positive, got {v:?}")));
    }
    a[..n].copy_from_slice(v);
    Ok(a)
}

impl Window {
    /// Number of spatial dims implied by the attributes, if any says.
    pub fn rank_hint(&self) -> Option<usize> {
        self.kernel_shape.as_ref().map(|k| k.len())
    }

    /// Resolve against input spatial extents and a kernel shape. `ceil_mode` applies to
    /// explicit padding only (pools); the last window must start inside input or left padding.
    pub fn resolve(&self, op: &str, inp: &[usize], kernel: &[usize], ceil_mode: bool) -> Result<Geom> {
        let nd = inp.len();
        if nd == 0 || nd > MAX_DIMS {
            return Err(KernelError::unsupported(
                op,
                format!("{nd} spatial dims (supported: 1 to {MAX_DIMS})"),
            ));
        }
        if kernel.len() != nd {
            return Err(KernelError::invalid(
                op,
                format!("kernel has {} dims for {nd} spatial dims", kernel.len()),
            ));
        }
        let s = per_dim(op, "strides", &self.strides, nd, 1)?;
        let d = per_dim(op, "dilations", &self.dilations, nd, 1)?;
        let mut pb = [0usize; MAX_DIMS];
        let mut pe = [0usize; MAX_DIMS];
        let mut out = [0usize; MAX_DIMS];
        for i in 0..nd {
            if kernel[i] == 0 {
                return Err(KernelError::invalid(op, "kernel extents must be positive"));
            }
            let dk = (kernel[i] - 1) * d[i] + 1;
            match self.auto_pad {
                AutoPad::NotSet => {
                    if !self.pads.is_empty() {
                        if self.pads.len() != 2 * nd {
                            return Err(KernelError::invalid(
                                op,
                                format!("pads has {} values for {nd} spatial dims", self.pads.len()),
                            ));
                        }
                        pb[i] = self.pads[i];
                        pe[i] = self.pads[nd + i];
                    }
                    let span = inp[i] + pb[i] + pe[i];
                    if span < dk {
                        return Err(KernelError::invalid(
                            op,
                            format!("window {dk} is larger than padded input {span} in dim {i}"),
                        ));
                    }
                    out[i] = if ceil_mode {
                        let mut o = (span - dk).div_ceil(s[i]) + 1;
                        if (o - 1) * s[i] >= inp[i] + pb[i] {
                            o -= 1;
                        }
                        o
                    } else {
                        (span - dk) / s[i] + 1
                    };
                }
                AutoPad::Valid => {
                    if inp[i] < dk {
                        return Err(KernelError::invalid(
                            op,
                            format!("window {dk} is larger than input {} in dim {i}", inp[i]),
                        ));
                    }
                    out[i] = (inp[i] - dk) / s[i] + 1;
                }
                AutoPad::SameUpper | AutoPad::SameLower => {
                    out[i] = inp[i].div_ceil(s[i]);
                    let total = ((out[i].max(1) - 1) * s[i] + dk).saturating_sub(inp[i]);
                    let small = total / 2;
                    (pb[i], pe[i]) = if self.auto_pad == AutoPad::SameUpper {
                        (small, total - small)
                    } else {
                        (total - small, small)
                    };
                }
            }
        }
        let isz = |v: &[usize]| {
            let mut a = [0isize; MAX_DIMS];
            for (a, &x) in a.iter_mut().zip(v) {
                *a = x as isize;
            }
            pad3(&a[..nd], 0)
        };
        Ok(Geom {
            nd,
            inp: pad3(inp, 1),
            k: pad3(kernel, 1),
            out: pad3(&out[..nd], 1),
            s: pad3(&s[..nd], 1),
            d: pad3(&d[..nd], 1),
            pb: isz(&pb[..nd]),
            pe: isz(&pe[..nd]),
        })
    }

    /// Static output spatial dims where the input dims are known.
    pub fn infer_out(&self, op: &str, inp: &[Dim], kernel: &[usize], ceil_mode: bool) -> Result<Vec<Dim>> {
        if let Some(conc) = inp.iter().map(|d| d.known()).collect::<Option<Vec<_>>>() {
            let g = self.resolve(op, &conc, kernel, ceil_mode)?;
            return Ok(g.out_dims().into_iter().map(Dim::Known).collect());
        }
        // Per-dim: resolve each known dim on its own (the formulas are separable).
        let mut res = Vec::with_capacity(inp.len());
        for (i, dim) in inp.iter().enumerate() {
            match dim.known() {
                None => res.push(Dim::Unknown),
                Some(n) => {
                    let one = Window {
                        kernel_shape: None,
                        strides: self.strides.get(i).map(|&x| vec![x]).unwrap_or_default(),
                        dilations: self.dilations.get(i).map(|&x| vec![x]).unwrap_or_default(),
                        pads: if self.pads.len() == 2 * inp.len() {
                            vec![self.pads[i], self.pads[inp.len() + i]]
                        } else {
                            vec![]
                        },
                        auto_pad: self.auto_pad,
                    };
                    let k = kernel.get(i).copied().unwrap_or(1);
                    let g = one.resolve(op, &[n], &[k], ceil_mode)?;
                    res.push(Dim::Known(g.out[2]));
                }
            }
        }
        Ok(res)
    }
}

/// The output positions `o` in `0..out` for which `o*s + off` lies in `0..len`, as a range.
pub fn valid_range(off: isize, s: usize, len: usize, out: usize) -> (usize, usize) {
    let s = s as isize;
    let lo = if off >= 0 { 0 } else { (-off + s - 1) / s };
    let last = len as isize - 1 - off;
    let hi = if last < 0 { 0 } else { last / s + 1 };
    let lo = (lo as usize).min(out);
    let hi = (hi as usize).min(out).max(lo);
    (lo, hi)
}
