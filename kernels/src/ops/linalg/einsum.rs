//! Einsum: equation parsing and a general evaluator that sums out private labels, takes
//! diagonals, and contracts operands pairwise through batched matrix products.

use super::gemm::{GemmElem, MatRef};
use crate::error::{KernelError, Result};
use crate::shape::{strides, Dim, TensorType};
use crate::tensor::Tensor;

const OP: &str = "Einsum";

/// One operand's (or the output's) subscripts: letters, with an optional ellipsis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EinTerm {
    /// The letters in order (without the ellipsis).
    pub letters: Vec<u8>,
    /// Position in `letters` where `...` stands, if present.
    pub ellipsis: Option<usize>,
}

/// A parsed einsum equation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EinsumSpec {
    /// One term per input.
    pub inputs: Vec<EinTerm>,
    /// The output term (explicit, or derived by numpy's implicit rule).
    pub output: EinTerm,
}

fn parse_term(s: &str) -> Result<EinTerm> {
    let mut letters = Vec::new();
    let mut ellipsis = None;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'.' {
            if ellipsis.is_some() || b.get(i..i + 3) != Some(b"...") {
                return Err(KernelError::invalid(OP, format!("bad ellipsis in term {s:?}")));
            }
            ellipsis = Some(letters.len());
            i += 3;
        } else if b[i].is_ascii_alphabetic() {
            letters.push(b[i]);
            i += 1;
        } else {
            return Err(KernelError::invalid(OP, format!("bad character {:?} in term {s:?}", b[i] as char)));
        }
    }
    Ok(EinTerm { letters, ellipsis })
}

/// Parse an equation such as `"bij,bjk->bik"` or `"...ii->...i"` (whitespace ignored).
pub fn parse_equation(eq: &str) -> Result<EinsumSpec> {
    let eq: String = eq.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let inputs = lhs.split(',').map(parse_term).collect::<Result<Vec<_>>>()?;
    let output = match rhs {
        Some(r) => {
            let t = parse_term(r)?;
            let mut seen = t.letters.clone();
            seen.sort_unstable();
            if seen.windows(2).any(|w| w[0] == w[1]) {
                return Err(KernelError::invalid(OP, format!("output {r:?} repeats a label")));
            }
            for &l in &t.letters {
                if !inputs.iter().any(|i| i.letters.contains(&l)) {
                    return Err(KernelError::invalid(OP, format!("output label {:?} is in no input", l as char)));
                }
            }
            t
        }
        None => {
            let mut count = [0usize; 256];
            for t in &inputs {
                for &l in &t.letters {
                    count[l as usize] += 1;
                }
            }
            let letters: Vec<u8> = (0..=255u8).filter(|&l| count[l as usize] == 1).collect();
            let ellipsis = inputs.iter().any(|t| t.ellipsis.is_some()).then_some(0);
            EinTerm { letters, ellipsis }
        }
    };
    Ok(EinsumSpec { inputs, output })
}

/// Label ids: letters are their byte value; ellipsis dim `j` (right-aligned) is `256 + j`.
type Label = usize;

/// Expand a term against an operand rank into one label per dim.
fn expand(t: &EinTerm, rank: usize, ell_rank: usize) -> Result<Vec<Label>> {
    let nl = t.letters.len();
    let e = match t.ellipsis {
        Some(_) if rank >= nl => rank - nl,
        None if rank == nl => 0,
        _ => return Err(KernelError::invalid(OP, format!("term with {nl} letters does not fit rank {rank}"))),
    };
    let pos = t.ellipsis.unwrap_or(nl);
    let mut out: Vec<Label> = t.letters[..pos].iter().map(|&l| l as Label).collect();
    out.extend((ell_rank - e..ell_rank).map(|j| 256 + j));
    out.extend(t.letters[pos..].iter().map(|&l| l as Label));
    Ok(out)
}

/// A working operand: contiguous f64 data, one distinct label per dim.
#[derive(Clone, Debug)]
struct Work {
    labels: Vec<Label>,
    shape: Vec<usize>,
    data: Vec<f64>,
}

/// Strides that read an operand (`labels`, `shape`) in label order `order`, with stride 0 on
/// labels it lacks or holds at size 1 (broadcast to the global `size`).
fn view_strides(labels: &[Label], shape: &[usize], order: &[Label], size: &dyn Fn(Label) -> usize) -> Vec<usize> {
    let st = strides(shape);
    order
        .iter()
        .map(|l| match labels.iter().position(|x| x == l) {
            Some(p) if shape[p] != 1 || size(*l) == 1 => st[p],
            _ => 0,
        })
        .collect()
}

impl Work {
    /// The view of this operand in label order `order` at global sizes, materialised.
    fn arrange(&self, order: &[Label], size: &dyn Fn(Label) -> usize) -> Vec<f64> {
        let st = view_strides(&self.labels, &self.shape, order, size);
        let shape: Vec<usize> = order.iter().map(|&l| size(l)).collect();
        let mut out = Vec::with_capacity(shape.iter().product());
        crate::shape::for_each_offset(&shape, [&st], |[i]| out.push(self.data[i]));
        out
    }

    /// Sum out every label not in `keep`.
    fn sum_except(self, keep: &dyn Fn(Label) -> bool) -> Work {
        let kept: Vec<Label> = self.labels.iter().copied().filter(|&l| keep(l)).collect();
        if kept.len() == self.labels.len() {
            return self;
        }
        let dropped: Vec<Label> = self.labels.iter().copied().filter(|&l| !keep(l)).collect();
        // Every label passed to `own` comes from self.labels, so the position exists.
        let own = |l: Label| self.labels.iter().position(|&x| x == l).map_or(1, |p| self.shape[p]);
        let shape: Vec<usize> = kept.iter().map(|&l| own(l)).collect();
        let inner: usize = dropped.iter().map(|&l| own(l)).product();
        let order: Vec<Label> = kept.iter().chain(&dropped).copied().collect();
        let arranged = self.arrange(&order, &own);
        let data: Vec<f64> = if inner == 0 {
            vec![0.0; shape.iter().product()]
        } else {
            arranged.chunks(inner).map(|c| c.iter().sum()).collect()
        };
        Work { labels: kept, shape, data }
    }
}

/// Contract two operands, keeping the labels for which `keep` holds.
fn contract(x: Work, y: Work, keep: &dyn Fn(Label) -> bool, size: &dyn Fn(Label) -> usize) -> Result<Work> {
    let in_y = |l: &Label| y.labels.contains(l);
    let in_x = |l: &Label| x.labels.contains(l);
    let batch: Vec<Label> = x.labels.iter().copied().filter(|l| in_y(l) && keep(*l)).collect();
    let con: Vec<Label> = x.labels.iter().copied().filter(|l| in_y(l) && !keep(*l)).collect();
    let xo: Vec<Label> = x.labels.iter().copied().filter(|l| !in_y(l)).collect();
    let yo: Vec<Label> = y.labels.iter().copied().filter(|l| !in_x(l)).collect();
    let prod = |ls: &[Label]| ls.iter().map(|&l| size(l)).product::<usize>();
    let (b, m, k, n) = (prod(&batch), prod(&xo), prod(&con), prod(&yo));
    let xa = x.arrange(&[&batch[..], &xo, &con].concat(), size);
    let ya = y.arrange(&[&batch[..], &con, &yo].concat(), size);
    let mut out = vec![0.0f64; b * m * n];
    for i in 0..b {
        let c = &mut out[i * m * n..(i + 1) * m * n];
        f64::gemm(m, k, n, 1.0, MatRef::rows(&xa, i * m * k, k), MatRef::rows(&ya, i * k * n, n), 0.0, c, n)?;
    }
    let labels: Vec<Label> = [&batch[..], &xo, &yo].concat();
    let shape = labels.iter().map(|&l| size(l)).collect();
    Ok(Work { labels, shape, data: out })
}

/// Build an operand's working form: check sizes, take diagonals of repeated labels.
fn load(t: &Tensor, labels: &[Label]) -> Result<Work> {
    let data = t.to_f64_vec()?;
    let st = strides(t.shape());
    let mut ul: Vec<Label> = Vec::new();
    let mut us: Vec<usize> = Vec::new();
    let mut ust: Vec<usize> = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        match ul.iter().position(|&x| x == l) {
            Some(p) => {
                if us[p] != t.shape()[i] {
                    return Err(KernelError::invalid(OP, format!("repeated label has dims {} and {}", us[p], t.shape()[i])));
                }
                ust[p] += st[i];
            }
            None => {
                ul.push(l);
                us.push(t.shape()[i]);
                ust.push(st[i]);
            }
        }
    }
    if labels.len() == ul.len() {
        return Ok(Work { labels: ul, shape: t.shape().to_vec(), data });
    }
    let mut out = Vec::with_capacity(us.iter().product());
    crate::shape::for_each_offset(&us, [&ust], |[i]| out.push(data[i]));
    Ok(Work { labels: ul, shape: us, data: out })
}

/// Evaluate an einsum in f64 and return the data and output shape.
pub fn einsum(spec: &EinsumSpec, inputs: &[&Tensor]) -> Result<(Vec<usize>, Vec<f64>)> {
    if inputs.len() != spec.inputs.len() {
        return Err(KernelError::invalid(OP, format!("equation has {} terms but {} inputs were given", spec.inputs.len(), inputs.len())));
    }
    let ell_rank = spec
        .inputs
        .iter()
        .zip(inputs)
        .map(|(t, x)| if t.ellipsis.is_some() { x.rank().saturating_sub(t.letters.len()) } else { 0 })
        .max()
        .unwrap_or(0);
    let mut sizes = vec![1usize; 256 + ell_rank];
    let mut works = Vec::new();
    for (t, x) in spec.inputs.iter().zip(inputs) {
        let labels = expand(t, x.rank(), ell_rank)?;
        for (&l, &d) in labels.iter().zip(x.shape()) {
            if d != 1 {
                if sizes[l] != 1 && sizes[l] != d {
                    return Err(KernelError::invalid(OP, format!("label dims {} and {d} differ", sizes[l])));
                }
                sizes[l] = d;
            }
        }
        works.push(load(x, &labels)?);
    }
    let out_labels = expand(&spec.output, spec.output.letters.len() + if spec.output.ellipsis.is_some() { ell_rank } else { 0 }, ell_rank)?;
    let size = |l: Label| sizes[l];
    let mut acc: Option<Work> = None;
    for (i, w) in works.into_iter().enumerate() {
        // Labels still needed after operand i: the output's and those of later operands.
        let later: Vec<Label> = spec.inputs[i + 1..]
            .iter()
            .zip(&inputs[i + 1..])
            .map(|(t, x)| expand(t, x.rank(), ell_rank))
            .collect::<Result<Vec<_>>>()?
            .concat();
        let keep_after = |l: Label| out_labels.contains(&l) || later.contains(&l);
        acc = Some(match acc {
            None => {
                w.sum_except(&keep_after)
            }
            Some(a) => {
                let a_labels = a.labels.clone();
                let w_labels = w.labels.clone();
                let a = a.sum_except(&|l| keep_after(l) || w_labels.contains(&l));
                let w = w.sum_except(&|l| keep_after(l) || a_labels.contains(&l));
                contract(a, w, &keep_after, &size)?
            }
        });
    }
    let acc = acc.ok_or_else(|| KernelError::invalid(OP, "no inputs"))?;
    let data = acc.arrange(&out_labels, &size);
    Ok((out_labels.iter().map(|&l| sizes[l]).collect(), data))
}

/// Einsum inference: output rank from the equation, dims where the inputs give them.
pub fn infer_einsum(spec: &EinsumSpec, inputs: &[&TensorType]) -> Result<TensorType> {
    let dtype = inputs.first().map(|t| t.dtype).ok_or_else(|| KernelError::invalid(OP, "no inputs"))?;
    let mut ell: Option<usize> = Some(0);
    let mut letter: Vec<Option<Dim>> = vec![None; 256];
    for (t, x) in spec.inputs.iter().zip(inputs) {
        match &x.shape {
            None => {
                if t.ellipsis.is_some() {
                    ell = None;
                }
            }
            Some(s) => {
                if t.ellipsis.is_some() {
                    ell = ell.map(|e| e.max(s.len().saturating_sub(t.letters.len())));
                }
                if let Ok(labels) = expand(t, s.len(), s.len().saturating_sub(t.letters.len()).max(0)) {
                    for (l, d) in labels.iter().zip(s) {
                        if *l < 256 && (letter[*l].is_none() || letter[*l] == Some(Dim::Known(1))) {
                            letter[*l] = Some(d.clone());
                        }
                    }
                }
            }
        }
    }
    let out = &spec.output;
    if out.ellipsis.is_some() && ell.is_none() {
        return Ok(TensorType::unknown(dtype));
    }
    let e = if out.ellipsis.is_some() { ell.unwrap_or(0) } else { 0 };
    let pos = out.ellipsis.unwrap_or(out.letters.len());
    let mut shape: Vec<Dim> = out.letters[..pos].iter().map(|&l| letter[l as usize].clone().unwrap_or(Dim::Unknown)).collect();
    shape.extend(std::iter::repeat_n(Dim::Unknown, e));
    shape.extend(out.letters[pos..].iter().map(|&l| letter[l as usize].clone().unwrap_or(Dim::Unknown)));
    Ok(TensorType { dtype, shape: Some(shape) })
}
