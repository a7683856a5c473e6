//! Slicing and joining: Slice, Split, Concat.

use super::common::{any_dtype, axes, axis, copy_view, dims, elems, make, prod, same_dtypes, ty, AnyElem};
use super::SliceAttrs;
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{const_val, opt, req, req_ty};

/// The resolved parameters of one sliced axis: first index and element count (ONNX clamping;
/// devices use it too so that every device slices alike).
pub fn slice_axis(dim: usize, start: i64, end: i64, step: i64) -> (usize, usize) {
    let d = dim as i64;
    let fix = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    let (s, e) = (fix(start), fix(end));
    if step > 0 {
        let (s, e) = (s.clamp(0, d), e.clamp(0, d));
        let n = if e > s { (e - s + step - 1) / step } else { 0 };
        (s as usize, n as usize)
    } else {
        if d == 0 {
            return (0, 0);
        }
        let (s, e) = (s.clamp(0, d - 1), e.clamp(-1, d - 1));
        let st = step.checked_neg().unwrap_or(i64::MAX);
        let n = if s > e { (s - e + st - 1) / st } else { 0 };
        (s as usize, n as usize)
    }
}

/// Slice parameters as lists: starts, ends, axes (normalised later) and steps.
struct Params {
    starts: Vec<i64>,
    ends: Vec<i64>,
    axes: Option<Vec<i64>>,
    steps: Option<Vec<i64>>,
}

fn check_params(p: &Params, rank: usize) -> Result<(Vec<usize>, Vec<i64>)> {
    const OP: &str = "Slice";
    let n = p.starts.len();
    if p.ends.len() != n {
        return Err(KernelError::invalid(OP, "starts and ends have different lengths"));
    }
    let ax = match &p.axes {
        Some(a) if a.len() != n => return Err(KernelError::invalid(OP, "axes and starts have different lengths")),
        Some(a) => axes(OP, a, rank)?,
        None if n > rank => return Err(KernelError::invalid(OP, format!("{n} starts for rank {rank}"))),
        None => (0..n).collect(),
    };
    let steps = match &p.steps {
        Some(s) if s.len() != n => return Err(KernelError::invalid(OP, "steps and starts have different lengths")),
        Some(s) => s.clone(),
        None => vec![1; n],
    };
    if steps.contains(&0) {
        return Err(KernelError::invalid(OP, "step 0"));
    }
    Ok((ax, steps))
}

/// Slice kernel.
pub(super) fn run_slice(attrs: Option<&SliceAttrs>, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Slice";
    let x = req(OP, inputs, 0)?;
    let p = match attrs {
        Some(a) => Params {
            starts: a.starts.clone(),
            ends: a.ends.clone(),
            axes: a.axes.clone(),
            steps: None,
        },
        None => Params {
            starts: req(OP, inputs, 1)?.to_i64_vec()?,
            ends: req(OP, inputs, 2)?.to_i64_vec()?,
            axes: opt(inputs, 3).map(|t| t.to_i64_vec()).transpose()?,
            steps: opt(inputs, 4).map(|t| t.to_i64_vec()).transpose()?,
        },
    };
    let (ax, steps) = check_params(&p, x.rank())?;
    let in_strides = x.strides();
    let mut shape = x.shape().to_vec();
    let mut strides: Vec<isize> = in_strides.iter().map(|&s| s as isize).collect();
    let mut offset = 0usize;
    for (i, &a) in ax.iter().enumerate() {
        let (s, n) = slice_axis(shape[a], p.starts[i], p.ends[i], steps[i]);
        shape[a] = n;
        strides[a] = in_strides[a] as isize * steps[i] as isize;
        offset += s * in_strides[a];
    }
    // Only an identity view may skip the copy (a reversed axis keeps its shape).
    let identity = strides.iter().zip(in_strides.iter()).all(|(&s, &i)| s == i as isize);
    if shape == x.shape() && offset == 0 && identity {
        return Ok(x.clone());
    }
    fn go<T: AnyElem>(x: &Tensor, shape: Vec<usize>, strides: &[isize], offset: usize) -> Result<Tensor> {
        let mut out = Vec::with_capacity(prod(&shape));
        copy_view(elems::<T>(OP, x)?, &shape, strides, offset, &mut out);
        make(shape, out)
    }
    any_dtype!(x.dtype(), go(x, shape, &strides, offset))
}

/// Slice inference: sliced dims are known when the parameters are constants and the dim is known.
pub(super) fn infer_slice(attrs: Option<&SliceAttrs>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Slice", inputs, 0)?;
    let Some(d) = dims(x) else {
        return Ok(vec![TensorType::unknown(x.dtype)]);
    };
    let ints = |i: usize| const_val(inputs, i).map(|t| t.to_i64_vec()).transpose();
    let p = match attrs {
        Some(a) => Some(Params {
            starts: a.starts.clone(),
            ends: a.ends.clone(),
            axes: a.axes.clone(),
            steps: None,
        }),
        None => {
            let present = |i: usize| inputs.get(i).is_some_and(|x| x.ty.is_some());
            match (ints(1)?, ints(2)?, ints(3)?, ints(4)?) {
                (Some(starts), Some(ends), axes, steps)
                    if (axes.is_some() || !present(3)) && (steps.is_some() || !present(4)) =>
                {
                    Some(Params {
                        starts,
                        ends,
                        axes,
                        steps,
                    })
                }
                _ => None,
            }
        }
    };
    let mut out = d.to_vec();
    match p {
        Some(p) => {
            let (ax, steps) = check_params(&p, d.len())?;
            for (i, &a) in ax.iter().enumerate() {
                out[a] = match d[a].known() {
                    Some(n) => Dim::Known(slice_axis(n, p.starts[i], p.ends[i], steps[i]).1),
                    None => Dim::Unknown,
                };
            }
        }
        None => {
            // Axes unknown: any dim may change.
            if attrs.is_none() && const_val(inputs, 3).is_none() {
                return Ok(vec![TensorType::with_rank(x.dtype, d.len())]);
            }
            if let Some(a) = ints(3)? {
                for a in axes("Slice", &a, d.len())? {
                    out[a] = Dim::Unknown;
                }
            }
        }
    }
    Ok(vec![ty(x.dtype, out)])
}

/// Sizes of the Split parts for a dim of size `dim`.
fn split_sizes(dim: usize, split: Option<&[i64]>, num_outputs: usize, uneven: bool) -> Result<Vec<usize>> {
    const OP: &str = "Split";
    if let Some(s) = split {
        let mut out = Vec::with_capacity(s.len());
        for &v in s {
            out.push(usize::try_from(v).map_err(|_| KernelError::invalid(OP, format!("negative split {v}")))?);
        }
        if out.iter().sum::<usize>() != dim {
            return Err(KernelError::invalid(
                OP,
                format!("split {s:?} does not sum to the dim {dim}"),
            ));
        }
        return Ok(out);
    }
    if num_outputs == 0 {
        return Err(KernelError::invalid(OP, "no outputs"));
    }
    let chunk = dim.div_ceil(num_outputs);
    if !uneven && !dim.is_multiple_of(num_outputs) {
        return Err(KernelError::invalid(
            OP,
            format!("dim {dim} cannot be split evenly into {num_outputs} parts"),
        ));
    }
    if chunk * (num_outputs - 1) > dim {
        return Err(KernelError::invalid(
            OP,
            format!("dim {dim} cannot be split into {num_outputs} parts"),
        ));
    }
    let mut out = vec![chunk; num_outputs];
    out[num_outputs - 1] = dim - chunk * (num_outputs - 1);
    Ok(out)
}

/// Split kernel.
pub(super) fn run_split(
    ax: i64,
    split: Option<&[i64]>,
    num_outputs: usize,
    uneven: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>> {
    const OP: &str = "Split";
    let x = req(OP, inputs, 0)?;
    let a = axis(OP, ax, x.rank())?;
    let split_in = opt(inputs, 1).map(|t| t.to_i64_vec()).transpose()?;
    let sizes = split_sizes(x.shape()[a], split.or(split_in.as_deref()), num_outputs, uneven)?;
    fn go<T: AnyElem>(x: &Tensor, a: usize, sizes: &[usize]) -> Result<Vec<Tensor>> {
        let v = elems::<T>(OP, x)?;
        let s = x.shape();
        let (outer, dim, inner) = (prod(&s[..a]), s[a], prod(&s[a + 1..]));
        let mut outs = Vec::with_capacity(sizes.len());
        let mut off = 0;
        for &n in sizes {
            let mut part = Vec::with_capacity(outer * n * inner);
            for o in 0..outer {
                let b = (o * dim + off) * inner;
                part.extend_from_slice(&v[b..b + n * inner]);
            }
            let mut shape = s.to_vec();
            shape[a] = n;
            outs.push(make(shape, part)?);
            off += n;
        }
        Ok(outs)
    }
    any_dtype!(x.dtype(), go(x, a, &sizes))
}

/// Split inference.
pub(super) fn infer_split(
    ax: i64,
    split: Option<&[i64]>,
    num_outputs: usize,
    uneven: bool,
    inputs: &[InferInput],
) -> Result<Vec<TensorType>> {
    let x = req_ty("Split", inputs, 0)?;
    let split_in = const_val(inputs, 1).map(|t| t.to_i64_vec()).transpose()?;
    let has_split_input = inputs.get(1).is_some_and(|i| i.ty.is_some());
    let split = split.or(split_in.as_deref());
    let n = split.map(|s| s.len()).unwrap_or(num_outputs);
    let Some(d) = dims(x) else {
        return Ok(vec![TensorType::unknown(x.dtype); n]);
    };
    let a = axis("Split", ax, d.len())?;
    let sizes = match d[a].known() {
        Some(dim) if split.is_some() || !has_split_input => Some(split_sizes(dim, split, num_outputs, uneven)?),
        _ => None,
    };
    Ok((0..n)
        .map(|i| {
            let mut o = d.to_vec();
            o[a] = sizes
                .as_ref()
                .and_then(|s| s.get(i))
                .map(|&v| Dim::Known(v))
                .unwrap_or(Dim::Unknown);
            ty(x.dtype, o)
        })
        .collect())
}

/// Concat kernel.
pub(super) fn run_concat(ax: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Concat";
    let ts: smallvec::SmallVec<[&Tensor; 8]> = inputs
        .iter()
        .map(|t| t.ok_or_else(|| KernelError::invalid(OP, "missing input")))
        .collect::<Result<_>>()?;
    let dt = same_dtypes(OP, &ts)?;
    let first = ts[0];
    let a = axis(OP, ax, first.rank())?;
    let mut shape = crate::buffers::dims(first.shape());
    shape[a] = 0;
    for t in &ts {
        let s = t.shape();
        if s.len() != shape.len() || s.iter().enumerate().any(|(i, &d)| i != a && d != shape[i]) {
            return Err(KernelError::invalid(
                OP,
                format!("shapes {:?} and {:?} differ outside axis {a}", first.shape(), s),
            ));
        }
        shape[a] += s[a];
    }
    if ts.len() == 1 {
        return Ok(first.clone());
    }
    fn go<T: AnyElem>(ts: &[&Tensor], shape: Vec<usize>, a: usize) -> Result<Tensor> {
        let outer = prod(&shape[..a]);
        let inner = prod(&shape[a + 1..]);
        let total = prod(&shape);
        let parts: smallvec::SmallVec<[(&[T], usize); 8]> = ts
            .iter()
            .map(|t| Ok((elems::<T>(OP, t)?, t.shape()[a] * inner)))
            .collect::<Result<_>>()?;
        if rayon::current_num_threads() > 1 && total >= PAR_CONCAT && outer * parts.len() <= MAX_PAR_SEGMENTS {
            return make(shape, concat_par(&parts, outer, total));
        }
        let mut out = T::with_capacity(total);
        for o in 0..outer {
            for &(v, n) in &parts {
                out.extend_from_slice(&v[o * n..(o + 1) * n]);
            }
        }
        make(shape, out)
    }
    any_dtype!(dt, go(&ts, shape, a))
}

/// Output elements from which a Concat copies on every thread of the pool.
const PAR_CONCAT: usize = 1 << 16;
/// Most contiguous segments (`outer` × inputs) a parallel Concat walks per chunk.
const MAX_PAR_SEGMENTS: usize = 512;
/// Elements per parallel Concat task.
const CONCAT_CHUNK: usize = 1 << 14;

/// The concatenation of `outer` rows of `parts` (each part contributing `n` elements per row)
/// into `total` elements, copied in fixed chunks of the output across the pool: each chunk
/// walks the segments and copies the pieces that overlap it. With every core writing, the
/// copy also reads the inputs from the caches that produced them.
fn concat_par<T: AnyElem>(parts: &[(&[T], usize)], outer: usize, total: usize) -> Vec<T> {
    use rayon::prelude::*;
    let mut out = T::with_capacity(total);
    let dst = &mut out.spare_capacity_mut()[..total];
    dst.par_chunks_mut(CONCAT_CHUNK).enumerate().for_each(|(c, d)| {
        let (start, end) = (c * CONCAT_CHUNK, c * CONCAT_CHUNK + d.len());
        let mut pos = 0;
        for o in 0..outer {
            for &(v, n) in parts {
                let (s0, s1) = (pos, pos + n);
                pos = s1;
                if s1 <= start {
                    continue;
                }
                if s0 >= end {
                    return;
                }
                let (lo, hi) = (s0.max(start), s1.min(end));
                let src = &v[o * n + lo - s0..o * n + hi - s0];
                for (d, x) in d[lo - start..hi - start].iter_mut().zip(src) {
                    d.write(x.clone());
                }
            }
        }
    });
    // SAFETY: the chunks cover 0..total and every chunk wrote each of its elements: the
    // segments tile the output (their lengths sum to `total`, checked by the caller's shapes).
    unsafe { out.set_len(total) };
    out
}

/// Concat inference.
pub(super) fn infer_concat(ax: i64, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let first = req_ty("Concat", inputs, 0)?;
    let Some(d0) = dims(first) else {
        return Ok(vec![TensorType::unknown(first.dtype)]);
    };
    let a = axis("Concat", ax, d0.len())?;
    let mut out = d0.to_vec();
    let mut total = Some(0usize);
    for i in 0..inputs.len() {
        let t = req_ty("Concat", inputs, i)?;
        let Some(d) = dims(t) else {
            total = None;
            continue;
        };
        if d.len() != out.len() {
            return Err(KernelError::invalid("Concat", "inputs have different ranks"));
        }
        total = total.and_then(|s| d[a].known().map(|v| s + v));
        for (j, dim) in d.iter().enumerate() {
            if j != a && out[j].known().is_none() && dim.known().is_some() {
                out[j] = dim.clone();
            }
        }
    }
    out[a] = total.map(Dim::Known).unwrap_or(Dim::Unknown);
    Ok(vec![ty(first.dtype, out)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iota(shape: Vec<usize>) -> Tensor {
        let n = shape.iter().product::<usize>() as i64;
        Tensor::from_vec(shape, (0..n).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn slice_negative_step() {
        let x = iota(vec![2, 4]);
        let t = |v: Vec<i64>| Tensor::from_vec(vec![v.len()], v).unwrap();
        let (s, e, a, st) = (t(vec![-1]), t(vec![i64::MIN]), t(vec![1]), t(vec![-2]));
        let y = run_slice(None, &[Some(&x), Some(&s), Some(&e), Some(&a), Some(&st)]).unwrap();
        assert_eq!(y.shape(), &[2, 2]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[3, 1, 7, 5]);
        let z = t(vec![0]);
        assert!(run_slice(None, &[Some(&x), Some(&s), Some(&e), Some(&a), Some(&z)]).is_err());
    }

    #[test]
    fn split_uneven_and_concat() {
        let x = iota(vec![7]);
        let parts = run_split(0, None, 4, true, &[Some(&x)]).unwrap();
        let sizes: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        assert_eq!(sizes, vec![2, 2, 2, 1]);
        assert!(run_split(0, None, 4, false, &[Some(&x)]).is_err());
        let refs: Vec<Option<&Tensor>> = parts.iter().map(Some).collect();
        assert_eq!(run_concat(0, &refs).unwrap(), x);
    }

    #[test]
    fn parallel_f32_concat_matches_the_sequential_copy() {
        let f = |shape: &[usize], seed: usize| {
            let n: usize = shape.iter().product();
            Tensor::from_vec(
                shape.to_vec(),
                (0..n).map(|i| ((i * 31 + seed * 7) % 1000) as f32).collect(),
            )
            .unwrap()
        };
        let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
        // Channel concat (DenseNet, SqueezeNet), rows of a batch, and the last axis.
        for (ax, shapes) in [
            (
                1,
                vec![
                    vec![1, 64, 37, 41],
                    vec![1, 3, 37, 41],
                    vec![1, 0, 37, 41],
                    vec![1, 29, 37, 41],
                ],
            ),
            (1, vec![vec![3, 20, 33, 35], vec![3, 7, 33, 35]]),
            (-1, vec![vec![4, 3, 9000], vec![4, 3, 7000]]),
        ] {
            let ts: Vec<Tensor> = shapes.iter().enumerate().map(|(i, s)| f(s, i)).collect();
            let ins: Vec<Option<&Tensor>> = ts.iter().map(Some).collect();
            let want = pool(1).install(|| run_concat(ax, &ins)).unwrap();
            let got = pool(2).install(|| run_concat(ax, &ins)).unwrap();
            assert!(
                want.len() >= PAR_CONCAT,
                "{shapes:?}: large enough for the parallel path"
            );
            assert_eq!(got.shape(), want.shape());
            assert_eq!(
                got.as_slice::<f32>().unwrap(),
                want.as_slice::<f32>().unwrap(),
                "{shapes:?}"
            );
        }
    }

    #[test]
    fn concat_axis1() {
        let a = iota(vec![2, 1]);
        let b = iota(vec![2, 2]);
        let y = run_concat(-1, &[Some(&a), Some(&b)]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 0, 1, 1, 2, 3]);
        let c = iota(vec![3, 2]);
        assert!(run_concat(1, &[Some(&a), Some(&c)]).is_err());
    }
}
