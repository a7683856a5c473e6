//! Device-neutral shape planning shared by the GPU lowerings (wgpu and CUDA): the pieces that
//! depend only on shapes and attributes, not on a device's kernel language or launch API.

use crate::device::{DeviceError, Result};
use suanli_kernels::ops::layout::PadMode;
use suanli_kernels::KernelError;

fn invalid(op: &str, msg: impl Into<String>) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(op, msg))
}

/// Normalise axis `a` in `[-rank, rank)`.
pub fn norm_axis(op: &str, a: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(invalid(op, format!("axis {a} is out of range for rank {rank}")));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}

/// Transpose's permutation: `perm` normalised and checked, or the reversed dims when absent.
pub fn permutation(perm: Option<&[i64]>, rank: usize) -> Result<Vec<usize>> {
    let Some(p) = perm else {
        return Ok((0..rank).rev().collect());
    };
    let v = p
        .iter()
        .map(|&a| norm_axis("Transpose", a, rank))
        .collect::<Result<Vec<_>>>()?;
    let mut seen = vec![false; rank];
    if v.len() != rank || v.iter().any(|&a| std::mem::replace(&mut seen[a], true)) {
        return Err(invalid(
            "Transpose",
            format!("perm {p:?} is not a permutation of rank {rank}"),
        ));
    }
    Ok(v)
}

/// The two index spaces of a reduction: kept dims and reduced dims, each `(dim, stride)`.
#[derive(Clone, Debug, PartialEq)]
pub struct AxesLayout {
    /// Merged kept dims (outer to inner) with element strides.
    pub kept: Vec<(usize, usize)>,
    /// Merged reduced dims with element strides.
    pub red: Vec<(usize, usize)>,
}

impl AxesLayout {
    /// Split `shape` by `is_red`, dropping size-1 dims and merging adjacent dims of one kind.
    pub fn new(shape: &[usize], is_red: &[bool]) -> AxesLayout {
        let mut strides = vec![1usize; shape.len()];
        for i in (0..shape.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * shape[i + 1];
        }
        let (mut kept, mut red) = (Vec::<(usize, usize)>::new(), Vec::<(usize, usize)>::new());
        let mut last: Option<bool> = None;
        for i in 0..shape.len() {
            if shape[i] == 1 {
                continue;
            }
            let list = if is_red[i] { &mut red } else { &mut kept };
            match list.last_mut() {
                Some(g) if last == Some(is_red[i]) && g.1 == shape[i] * strides[i] => {
                    g.0 *= shape[i];
                    g.1 = strides[i];
                }
                _ => list.push((shape[i], strides[i])),
            }
            last = Some(is_red[i]);
        }
        AxesLayout { kept, red }
    }

    /// Number of outputs.
    pub fn outputs(&self) -> usize {
        self.kept.iter().map(|g| g.0).product()
    }

    /// Number of reduced elements per output.
    pub fn reduced(&self) -> usize {
        self.red.iter().map(|g| g.0).product()
    }

    /// True when consecutive reduced indices start out adjacent in memory.
    pub fn contiguous(&self) -> bool {
        self.red.last().is_none_or(|g| g.1 == 1)
    }

    /// The parameter table both axis kernels read: `[outputs, reduced, #kept, #red,
    /// kept dims[max], kept strides[max], red dims[max], red strides[max]]`, or an error when
    /// there are more than `max` groups of either kind.
    pub fn table(&self, op: &str, max: usize) -> Result<Vec<usize>> {
        if self.kept.len() > max || self.red.len() > max {
            return Err(DeviceError::Unsupported {
                kernel: op.into(),
                reason: format!("more than {max} separate kept or reduced dim groups"),
            });
        }
        let mut p = vec![0usize; 4 + 4 * max];
        p[0] = self.outputs();
        p[1] = self.reduced();
        p[2] = self.kept.len();
        p[3] = self.red.len();
        for (i, &(d, s)) in self.kept.iter().enumerate() {
            p[4 + i] = d;
            p[4 + max + i] = s;
        }
        for (i, &(d, s)) in self.red.iter().enumerate() {
            p[4 + 2 * max + i] = d;
            p[4 + 3 * max + i] = s;
        }
        Ok(p)
    }
}

// ---- Strided copies: every layout op (transpose, slice, pad, concat, tile…) is described as
// a per-dim walk over its source; each backend only encodes the walk for its copy kernel.

/// How one iteration dim of a copy maps to the source and the destination.
#[derive(Clone, Copy, Debug)]
pub struct Dim {
    /// Extent of the iteration dim.
    pub n: usize,
    /// Source stride (elements).
    pub stride: i64,
    /// Source index of iteration index 0.
    pub start: i64,
    /// Source index step per iteration index.
    pub step: i64,
    /// Source length along this dim (for the border modes).
    pub len: usize,
    /// 0 direct, 1 constant fill outside `0..len`, 2 edge, 3 reflect, 4 wrap.
    pub mode: u32,
    /// Destination stride.
    pub dst: usize,
}

impl Dim {
    /// A dim read directly at `stride` (0 = broadcast).
    pub fn direct(n: usize, stride: i64) -> Dim {
        Dim {
            n,
            stride,
            start: 0,
            step: 1,
            len: n,
            mode: 0,
            dst: 0,
        }
    }
}

/// The border mode of a padded dim (see [`Dim::mode`]): direct when nothing is padded.
pub fn pad_code(mode: PadMode, before: i64, after: i64) -> u32 {
    match mode {
        _ if before <= 0 && after <= 0 => 0,
        PadMode::Constant => 1,
        PadMode::Edge => 2,
        PadMode::Reflect => 3,
        PadMode::Wrap => 4,
    }
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// Give `dims` contiguous destination strides (row-major over the iteration dims).
pub fn with_dense_dst(mut dims: Vec<Dim>) -> Vec<Dim> {
    let shape: Vec<usize> = dims.iter().map(|d| d.n).collect();
    for (d, s) in dims.iter_mut().zip(strides(&shape)) {
        d.dst = s;
    }
    dims
}

/// Fold direct dims' starts and steps into the base, drop unit dims and merge neighbours
/// that are contiguous in both source and destination.
pub fn simplify(dims: Vec<Dim>, base: &mut i64) -> Vec<Dim> {
    let mut out: Vec<Dim> = Vec::with_capacity(dims.len());
    for mut d in dims {
        if d.mode == 0 {
            *base += d.start * d.stride;
            d.stride *= d.step;
            d.start = 0;
            d.step = 1;
            if d.n == 1 {
                continue;
            }
            if let Some(last) = out.last_mut() {
                if last.mode == 0 && last.stride == d.stride * d.n as i64 && last.dst == d.dst * d.n {
                    last.n *= d.n;
                    last.stride = d.stride;
                    last.dst = d.dst;
                    last.len = last.n;
                    continue;
                }
            }
            d.len = d.n;
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_merge_and_permutations_check() {
        let l = AxesLayout::new(&[2, 3, 1, 4], &[false, true, false, true]);
        assert_eq!(l.kept, vec![(2, 12)]);
        assert_eq!(l.red, vec![(12, 1)]);
        assert_eq!((l.outputs(), l.reduced(), l.contiguous()), (2, 12, true));
        assert_eq!(l.table("R", 1).unwrap(), vec![2, 12, 1, 1, 2, 12, 12, 1]);
        assert_eq!(permutation(None, 3).unwrap(), vec![2, 1, 0]);
        assert_eq!(permutation(Some(&[-1, 0, 1]), 3).unwrap(), vec![2, 0, 1]);
        assert!(permutation(Some(&[0, 0, 1]), 3).is_err());
        assert!(norm_axis("Op", 3, 3).is_err());
    }
}
