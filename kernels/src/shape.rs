//! Shapes: symbolic dims for the IR, concrete helpers (strides, broadcasting, axes).

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use std::fmt;

/// One dimension of a value's shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A known extent.
    Known(usize),
    /// A named symbol (`batch`, `seq`), equal wherever the same name appears.
    Sym(String),
    /// Not known until run time and not named.
    Unknown,
}

impl Dim {
    /// The extent if known.
    pub fn known(&self) -> Option<usize> {
        match self {
            Dim::Known(n) => Some(*n),
            _ => None,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(n) => write!(f, "{n}"),
            Dim::Sym(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// The static type of a tensor value: dtype and (possibly unknown) shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    /// Element type.
    pub dtype: DType,
    /// Dims, or `None` when even the rank is unknown.
    pub shape: Option<Vec<Dim>>,
}

impl TensorType {
    /// A type with a fully known shape.
    pub fn known(dtype: DType, shape: &[usize]) -> TensorType {
        TensorType {
            dtype,
            shape: Some(shape.iter().map(|&d| Dim::Known(d)).collect()),
        }
    }
    /// A type whose shape is unknown.
    pub fn unknown(dtype: DType) -> TensorType {
        TensorType { dtype, shape: None }
    }
    /// A type of known rank whose dims are unknown.
    pub fn with_rank(dtype: DType, rank: usize) -> TensorType {
        TensorType {
            dtype,
            shape: Some(vec![Dim::Unknown; rank]),
        }
    }
    /// The rank, if known.
    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(|s| s.len())
    }
    /// The concrete shape when every dim is known.
    pub fn concrete(&self) -> Option<Vec<usize>> {
        self.shape.as_ref()?.iter().map(|d| d.known()).collect()
    }
    /// Byte size when the shape is concrete.
    pub fn byte_size(&self) -> Option<usize> {
        Some(self.concrete()?.iter().product::<usize>() * self.dtype.size())
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dtype)?;
        match &self.shape {
            None => f.write_str("[..]"),
            Some(s) => {
                f.write_str("[")?;
                for (i, d) in s.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{d}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Row-major strides (in elements) of a concrete shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    strides_small(shape).to_vec()
}

/// [`strides`] into an inline list.
pub fn strides_small(shape: &[usize]) -> SmallDims {
    let mut s: SmallDims = smallvec::smallvec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Numpy-style multidirectional broadcast of concrete shapes.
pub fn broadcast_shapes(op: &str, shapes: &[&[usize]]) -> Result<Vec<usize>> {
    Ok(broadcast_dims_small(op, shapes)?.to_vec())
}

/// Dims or strides of a tensor, inline up to rank 8 (no allocation for the common ranks).
pub type SmallDims = smallvec::SmallVec<[usize; 8]>;

/// [`broadcast_shapes`] into an inline list.
pub fn broadcast_dims_small(op: &str, shapes: &[&[usize]]) -> Result<SmallDims> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out: SmallDims = smallvec::smallvec![1usize; rank];
    for s in shapes {
        let off = rank - s.len();
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[off + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return Err(KernelError::invalid(
                    op,
                    format!("shapes {:?} cannot be broadcast together", shapes),
                ));
            }
        }
    }
    Ok(out)
}

/// Broadcast of symbolic shapes (unknown dims stay unknown unless the other side decides).
pub fn broadcast_dims(op: &str, shapes: &[&[Dim]]) -> Result<Vec<Dim>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![Dim::Known(1); rank];
    for s in shapes {
        let off = rank - s.len();
        for (i, d) in s.iter().enumerate() {
            let o = &mut out[off + i];
            match (&*o, d) {
                (_, Dim::Known(1)) => {}
                (Dim::Known(1), _) => *o = d.clone(),
                (Dim::Known(a), Dim::Known(b)) if a != b => {
                    return Err(KernelError::invalid(
                        op,
                        format!("dims {a} and {b} cannot be broadcast together"),
                    ))
                }
                (Dim::Sym(a), Dim::Sym(b)) if a == b => {}
                (Dim::Known(_), _) => {}
                (_, Dim::Known(_)) => *o = d.clone(),
                _ => *o = Dim::Unknown,
            }
        }
    }
    Ok(out)
}

/// Strides to read an input of shape `src` as if broadcast to `dst` (0 on broadcast dims).
pub fn broadcast_strides(src: &[usize], dst: &[usize]) -> Vec<usize> {
    broadcast_strides_small(src, dst).to_vec()
}

/// [`broadcast_strides`] into an inline list.
pub fn broadcast_strides_small(src: &[usize], dst: &[usize]) -> SmallDims {
    let off = dst.len() - src.len();
    let mut out: SmallDims = smallvec::smallvec![0usize; dst.len()];
    let mut step = 1;
    for i in (0..src.len()).rev() {
        if src[i] != 1 {
            out[off + i] = step;
        }
        step *= src[i];
    }
    out
}

/// Normalise a possibly negative axis against `rank` (ONNX: `-rank <= axis < rank`).
pub fn norm_axis(op: &str, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r.max(1) && !(r == 0 && axis == 0) {
        return Err(KernelError::invalid(
            op,
            format!("axis {axis} is out of range for rank {rank}"),
        ));
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

/// Visit every multi-index of `shape` in row-major order, calling `f` with the
/// flat offsets into each operand given its strides.
pub fn for_each_offset<const N: usize>(shape: &[usize], strides: [&[usize]; N], mut f: impl FnMut([usize; N])) {
    let n: usize = shape.iter().product();
    if n == 0 {
        return;
    }
    let rank = shape.len();
    let mut idx = vec![0usize; rank];
    let mut off = [0usize; N];
    for _ in 0..n {
        f(off);
        // Increment the multi-index (last dim fastest) and update offsets.
        let mut d = rank;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            for k in 0..N {
                off[k] += strides[k][d];
            }
            if idx[d] < shape[d] {
                break;
            }
            for k in 0..N {
                off[k] -= strides[k][d] * shape[d];
            }
            idx[d] = 0;
        }
    }
}
