//! ONNX `RotaryEmbedding` (opset 23): rotate pairs of each head's leading
//! `rotary_embedding_dim` features by position-dependent angles.

use super::real::Real;
use crate::error::{KernelError, Result};
use crate::tensor::Tensor;

/// Typed attributes of `RotaryEmbedding`.
#[derive(Clone, Debug, PartialEq)]
pub struct RotaryAttrs {
    /// Pair features `(2i, 2i+1)` instead of `(i, i + rot/2)`.
    pub interleaved: bool,
    /// Rotated features per head; `0` means the whole head.
    pub rotary_embedding_dim: usize,
    /// Heads, required for 3-D input.
    pub num_heads: Option<usize>,
}

/// Run `RotaryEmbedding` in type `R`.
pub(crate) fn rotary<R: Real>(a: &RotaryAttrs, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "RotaryEmbedding";
    let x = crate::util::req(OP, inputs, 0)?;
    let cos_t = crate::util::req(OP, inputs, 1)?;
    let sin_t = crate::util::req(OP, inputs, 2)?;
    let pos = crate::util::opt(inputs, 3);
    // Layout: element (b, s, h, f) lives at b*sb + s*ss + h*sh + f.
    let (b, s, h, hd, sb, ss, sh) = match *x.shape() {
        [b, h, s, d] => (b, s, h, d, h * s * d, d, s * d),
        [b, s, hidden] => {
            let h = a.num_heads.filter(|&n| n > 0).ok_or_else(|| KernelError::invalid(OP, "3-D input needs num_heads"))?;
            if hidden % h != 0 {
                return Err(KernelError::invalid(OP, format!("hidden size {hidden} is not divisible by {h} heads")));
            }
            let d = hidden / h;
            (b, s, h, d, s * hidden, hidden, d)
        }
        _ => return Err(KernelError::invalid(OP, format!("input must have rank 3 or 4, found {:?}", x.shape()))),
    };
    let rot = if a.rotary_embedding_dim == 0 { hd } else { a.rotary_embedding_dim };
    if rot > hd || rot % 2 != 0 {
        return Err(KernelError::invalid(OP, format!("rotary_embedding_dim {rot} must be even and at most head size {hd}")));
    }
    let half = rot / 2;
    if cos_t.shape() != sin_t.shape() || cos_t.shape().last() != Some(&half) {
        return Err(KernelError::invalid(
            OP,
            format!("cos/sin caches {:?} / {:?} must end in rotary_dim/2 = {half}", cos_t.shape(), sin_t.shape()),
        ));
    }
    // Row index into the caches for each (b, s).
    let rows: Vec<usize> = match pos {
        Some(p) => {
            if p.shape() != [b, s] || cos_t.rank() != 2 {
                return Err(KernelError::invalid(OP, format!("position_ids {:?} must be [{b}, {s}] with 2-D caches", p.shape())));
            }
            let n = cos_t.shape()[0];
            p.to_i64_vec()?
                .iter()
                .map(|&i| {
                    usize::try_from(i)
                        .ok()
                        .filter(|&u| u < n)
                        .ok_or_else(|| KernelError::invalid(OP, format!("position id {i} out of range 0..{n}")))
                })
                .collect::<Result<_>>()?
        }
        None => {
            if cos_t.shape() != [b, s, half] {
                return Err(KernelError::invalid(OP, format!("without position_ids the caches must be [{b}, {s}, {half}]")));
            }
            (0..b * s).collect()
        }
    };
    let (cos, sin) = (R::load(cos_t)?, R::load(sin_t)?);
    let mut y = R::load(x)?;
    for bi in 0..b {
        for si in 0..s {
            let row = rows[bi * s + si] * half;
            let (c, sn) = (&cos[row..row + half], &sin[row..row + half]);
            for hi in 0..h {
                let base = bi * sb + si * ss + hi * sh;
                let f = &mut y[base..base + rot];
                for i in 0..half {
                    let (i1, i2) = if a.interleaved { (2 * i, 2 * i + 1) } else { (i, i + half) };
                    let (x1, x2) = (f[i1], f[i2]);
                    f[i1] = c[i] * x1 - sn[i] * x2;
                    f[i2] = sn[i] * x1 + c[i] * x2;
                }
            }
        }
    }
    Ok(vec![R::store(x.shape().to_vec(), y, x.dtype())?])
}
