//! Permutations of dims: Transpose, DepthToSpace, SpaceToDepth.

use super::common::{dims, permute_view, ty};
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{req, req_ty};

/// Validate a permutation (default: reversed dims).
fn perm_of(perm: Option<&[i64]>, rank: usize) -> Result<crate::shape::SmallDims> {
    let Some(p) = perm else {
        return Ok((0..rank).rev().collect());
    };
    if p.len() != rank {
        return Err(KernelError::invalid(
            "Transpose",
            format!("perm {p:?} does not match rank {rank}"),
        ));
    }
    let mut seen: smallvec::SmallVec<[bool; 8]> = smallvec::smallvec![false; rank];
    let mut out = crate::shape::SmallDims::new();
    for &v in p {
        let i = super::common::axis("Transpose", v, rank)?;
        if std::mem::replace(&mut seen[i], true) {
            return Err(KernelError::invalid(
                "Transpose",
                format!("perm {p:?} is not a permutation"),
            ));
        }
        out.push(i);
    }
    Ok(out)
}

/// Transpose kernel.
pub(super) fn run_transpose(perm: Option<&[i64]>, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    let x = req("Transpose", inputs, 0)?;
    let p = perm_of(perm, x.rank())?;
    if p.iter().enumerate().all(|(i, &v)| i == v) {
        return Ok(crate::buffers::clone_tensor(x));
    }
    permute_view(x, x.shape(), &p)
}

/// Transpose inference.
pub(super) fn infer_transpose(perm: Option<&[i64]>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Transpose", inputs, 0)?;
    let Some(d) = dims(x) else {
        return Ok(vec![TensorType::unknown(x.dtype)]);
    };
    let p = perm_of(perm, d.len())?;
    Ok(vec![ty(x.dtype, p.iter().map(|&i| d[i].clone()).collect())])
}

fn nchw(op: &str, x: &Tensor) -> Result<[usize; 4]> {
    match *x.shape() {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(KernelError::invalid(
            op,
            format!("expected a 4-D input, found shape {:?}", x.shape()),
        )),
    }
}

/// DepthToSpace kernel (DCR or CRD).
pub(super) fn run_depth_to_space(b: usize, crd: bool, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "DepthToSpace";
    let x = req(OP, inputs, 0)?;
    let [n, c, h, w] = nchw(OP, x)?;
    if b == 0 || c % (b * b) != 0 {
        return Err(KernelError::invalid(
            OP,
            format!("channels {c} are not divisible by blocksize² ({b}²)"),
        ));
    }
    let c2 = c / (b * b);
    let t = if crd {
        permute_view(x, &[n, c2, b, b, h, w], &[0, 1, 4, 2, 5, 3])?
    } else {
        permute_view(x, &[n, b, b, c2, h, w], &[0, 3, 4, 1, 5, 2])?
    };
    t.reshaped(vec![n, c2, h * b, w * b])
}

/// SpaceToDepth kernel.
pub(super) fn run_space_to_depth(b: usize, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "SpaceToDepth";
    let x = req(OP, inputs, 0)?;
    let [n, c, h, w] = nchw(OP, x)?;
    if b == 0 || h % b != 0 || w % b != 0 {
        return Err(KernelError::invalid(
            OP,
            format!("spatial dims {h}x{w} are not divisible by blocksize {b}"),
        ));
    }
    let t = permute_view(x, &[n, c, h / b, b, w / b, b], &[0, 3, 5, 1, 2, 4])?;
    t.reshaped(vec![n, c * b * b, h / b, w / b])
}

fn map_known(d: &Dim, f: impl Fn(usize) -> usize) -> Dim {
    d.known().map(|v| Dim::Known(f(v))).unwrap_or(Dim::Unknown)
}

/// DepthToSpace inference.
pub(super) fn infer_depth_to_space(b: usize, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("DepthToSpace", inputs, 0)?;
    Ok(vec![match dims(x) {
        Some([n, c, h, w]) => ty(
            x.dtype,
            vec![
                n.clone(),
                map_known(c, |v| v / (b * b).max(1)),
                map_known(h, |v| v * b),
                map_known(w, |v| v * b),
            ],
        ),
        _ => TensorType::with_rank(x.dtype, 4),
    }])
}

/// SpaceToDepth inference.
pub(super) fn infer_space_to_depth(b: usize, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("SpaceToDepth", inputs, 0)?;
    Ok(vec![match dims(x) {
        Some([n, c, h, w]) => ty(
            x.dtype,
            vec![
                n.clone(),
                map_known(c, |v| v * b * b),
                map_known(h, |v| v / b.max(1)),
                map_known(w, |v| v / b.max(1)),
            ],
        ),
        _ => TensorType::with_rank(x.dtype, 4),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_2d_and_3d() {
        let x = Tensor::from_vec(vec![2, 3], vec![1, 2, 3, 4, 5, 6i64]).unwrap();
        let y = run_transpose(None, &[Some(&x)]).unwrap();
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[1, 4, 2, 5, 3, 6]);
        let x = Tensor::from_strings(vec![2, 2, 2], (0..8).map(|v| v.to_string()).collect::<Vec<_>>());
        let y = run_transpose(Some(&[1, 0, 2]), &[Some(&x.unwrap())]).unwrap();
        assert_eq!(y.as_strings().unwrap(), &["0", "1", "4", "5", "2", "3", "6", "7"]);
    }

    #[test]
    fn transpose_large_blocked_matches_naive() {
        let (r, c) = (67, 130);
        let v: Vec<i32> = (0..(r * c) as i32).collect();
        let x = Tensor::from_vec(vec![r, c], v.clone()).unwrap();
        let y = run_transpose(Some(&[1, 0]), &[Some(&x)]).unwrap();
        let y = y.as_slice::<i32>().unwrap();
        for i in 0..r {
            for j in 0..c {
                assert_eq!(y[j * r + i], v[i * c + j]);
            }
        }
    }

    /// Naive `y[idx] = x[perm-mapped idx]` for a row-major shape.
    fn naive<T: Clone>(x: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
        let st = crate::shape::strides(shape);
        let oshape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let n: usize = shape.iter().product();
        (0..n)
            .map(|mut flat| {
                let mut off = 0;
                for d in (0..oshape.len()).rev() {
                    off += (flat % oshape[d]) * st[perm[d]];
                    flat /= oshape[d];
                }
                x[off].clone()
            })
            .collect()
    }

    #[test]
    fn transpose_tiles_match_naive_on_odd_sizes() {
        // 4-byte types take the 8×8 register tiles (when the next-inner output dim reads
        // contiguously); others and other permutations take the blocked copy.
        let cases: &[(&[usize], &[usize])] = &[
            (&[67, 130], &[1, 0]),
            (&[64, 64], &[1, 0]),
            (&[3, 19, 101], &[0, 2, 1]),
            (&[5, 33, 41], &[2, 1, 0]),
            (&[2, 3, 17, 45], &[0, 3, 1, 2]),
            (&[2, 9, 17, 40], &[0, 1, 3, 2]),
            (&[4, 1, 8, 200], &[3, 1, 2, 0]),
        ];
        for &(shape, perm) in cases {
            let n: usize = shape.iter().product();
            let p: Vec<i64> = perm.iter().map(|&v| v as i64).collect();
            let oshape: Vec<usize> = perm.iter().map(|&i| shape[i]).collect();
            let f: Vec<f32> = (0..n).map(|v| v as f32 * 0.5 - 7.0).collect();
            let x = Tensor::from_vec(shape.to_vec(), f.clone()).unwrap();
            let y = run_transpose(Some(&p), &[Some(&x)]).unwrap();
            assert_eq!(y.shape(), &oshape[..]);
            assert_eq!(
                y.as_slice::<f32>().unwrap(),
                &naive(&f, shape, perm)[..],
                "{shape:?} {perm:?}"
            );
            let u: Vec<u32> = (0..n as u32).map(|v| v.wrapping_mul(2654435761)).collect();
            let x = Tensor::from_vec(shape.to_vec(), u.clone()).unwrap();
            let y = run_transpose(Some(&p), &[Some(&x)]).unwrap();
            assert_eq!(
                y.as_slice::<u32>().unwrap(),
                &naive(&u, shape, perm)[..],
                "{shape:?} {perm:?}"
            );
            let l: Vec<i64> = (0..n as i64).collect();
            let x = Tensor::from_vec(shape.to_vec(), l.clone()).unwrap();
            let y = run_transpose(Some(&p), &[Some(&x)]).unwrap();
            assert_eq!(
                y.as_slice::<i64>().unwrap(),
                &naive(&l, shape, perm)[..],
                "{shape:?} {perm:?}"
            );
        }
        // NaN payloads move as bits.
        let mut f = vec![1.0f32; 64 * 72];
        f[9] = f32::from_bits(0x7fc0_1234);
        let x = Tensor::from_vec(vec![64, 72], f).unwrap();
        let y = run_transpose(Some(&[1, 0]), &[Some(&x)]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap()[9 * 64].to_bits(), 0x7fc0_1234);
    }

    #[test]
    fn bad_perm_fails() {
        let x = Tensor::from_vec(vec![2, 3], vec![0f32; 6]).unwrap();
        assert!(run_transpose(Some(&[0, 0]), &[Some(&x)]).is_err());
        assert!(run_transpose(Some(&[0]), &[Some(&x)]).is_err());
    }

    #[test]
    fn depth_space_roundtrip() {
        let x = Tensor::from_vec(vec![1, 8, 2, 3], (0..48).map(|v| v as f32).collect()).unwrap();
        let d = run_depth_to_space(2, false, &[Some(&x)]).unwrap();
        assert_eq!(d.shape(), &[1, 2, 4, 6]);
        let s = run_space_to_depth(2, &[Some(&d)]).unwrap();
        assert_eq!(s, x);
    }
}
