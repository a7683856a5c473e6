//! Sequence and optional ops. They work on host values and run on the host.

use super::{Graph, Value};
use std::sync::Arc;
use suanli_kernels::shape::norm_axis;
use suanli_kernels::{DType, KernelError, Tensor};

/// A sequence or optional op.
#[derive(Clone, Debug)]
pub enum SeqOp {
    /// An empty sequence of the given element type.
    Empty { dtype: DType },
    /// A sequence from its tensor inputs.
    Construct,
    /// Insert a tensor at a position (default: end).
    Insert,
    /// The element at a position.
    At,
    /// Remove the element at a position (default: last).
    Erase,
    /// Number of elements.
    Length,
    /// Split a tensor into a sequence.
    SplitToSequence { axis: i64, keepdims: bool },
    /// Concatenate (or stack) a sequence's tensors.
    ConcatFromSequence { axis: i64, new_axis: bool },
    /// Apply a subgraph to each element (run by the executor).
    Map { body: Arc<Graph> },
    /// Wrap a value into an optional (no input: empty optional).
    Optional,
    /// Whether an optional holds a value.
    OptionalHasElement,
    /// The value inside an optional.
    OptionalGetElement,
}

impl SeqOp {
    /// ONNX name.
    pub fn name(&self) -> &'static str {
        match self {
            SeqOp::Empty { .. } => "SequenceEmpty",
            SeqOp::Construct => "SequenceConstruct",
            SeqOp::Insert => "SequenceInsert",
            SeqOp::At => "SequenceAt",
            SeqOp::Erase => "SequenceErase",
            SeqOp::Length => "SequenceLength",
            SeqOp::SplitToSequence { .. } => "SplitToSequence",
            SeqOp::ConcatFromSequence { .. } => "ConcatFromSequence",
            SeqOp::Map { .. } => "SequenceMap",
            SeqOp::Optional => "Optional",
            SeqOp::OptionalHasElement => "OptionalHasElement",
            SeqOp::OptionalGetElement => "OptionalGetElement",
        }
    }

    /// Run every op except `Map` (which needs the executor).
    pub fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>, KernelError> {
        let name = self.name();
        let bad = |m: &str| KernelError::invalid(name, m.to_string());
        let get = |i: usize| inputs.get(i).copied().flatten();
        let seq = |i: usize| match get(i) {
            Some(Value::Sequence(s)) => Ok(s),
            Some(v) => Err(KernelError::invalid(
                name,
                format!("input {i} must be a sequence, got {}", v.describe()),
            )),
            None => Err(KernelError::invalid(name, format!("missing input {i}"))),
        };
        let tensor = |i: usize| match get(i) {
            Some(Value::Tensor(t)) => Ok(t),
            Some(v) => Err(KernelError::invalid(
                name,
                format!("input {i} must be a tensor, got {}", v.describe()),
            )),
            None => Err(KernelError::invalid(name, format!("missing input {i}"))),
        };
        let position = |len: usize, t: &Tensor, insert: bool| -> Result<usize, KernelError> {
            let p = t.scalar_i64()?;
            let n = len as i64;
            let hi = if insert { n } else { n - 1 };
            if p < -n || p > hi {
                return Err(KernelError::invalid(
                    name,
                    format!("position {p} is out of range for a sequence of {len}"),
                ));
            }
            Ok(if p < 0 { (p + n) as usize } else { p as usize })
        };
        Ok(vec![match self {
            SeqOp::Empty { .. } => Value::Sequence(vec![]),
            SeqOp::Construct => {
                let mut v = Vec::new();
                for i in 0..inputs.len() {
                    v.push(tensor(i)?.clone());
                }
                Value::Sequence(v)
            }
            SeqOp::Insert => {
                let mut s = seq(0)?.clone();
                let t = tensor(1)?.clone();
                let pos = match get(2) {
                    Some(Value::Tensor(p)) => position(s.len(), p, true)?,
                    _ => s.len(),
                };
                s.insert(pos, t);
                Value::Sequence(s)
            }
            SeqOp::At => {
                let s = seq(0)?;
                let pos = position(s.len(), tensor(1)?, false)?;
                Value::Tensor(s[pos].clone())
            }
            SeqOp::Erase => {
                let mut s = seq(0)?.clone();
                if s.is_empty() {
                    return Err(bad("cannot erase from an empty sequence"));
                }
                let pos = match get(1) {
                    Some(Value::Tensor(p)) => position(s.len(), p, false)?,
                    _ => s.len() - 1,
                };
                s.remove(pos);
                Value::Sequence(s)
            }
            SeqOp::Length => Value::Tensor(Tensor::scalar(seq(0)?.len() as i64)),
            SeqOp::SplitToSequence { axis, keepdims } => {
                let t = tensor(0)?;
                let ax = norm_axis(name, *axis, t.rank())?;
                let dim = t.shape()[ax];
                let (sizes, squeeze) = match get(1) {
                    Some(Value::Tensor(sp)) if sp.rank() == 0 => {
                        let c = sp.scalar_i64()?;
                        if c <= 0 {
                            return Err(bad("split size must be positive"));
                        }
                        let c = c as usize;
                        let mut v = vec![c; dim / c];
                        if dim % c != 0 {
                            v.push(dim % c);
                        }
                        (v, false)
                    }
                    Some(Value::Tensor(sp)) => {
                        let v: Vec<usize> = sp
                            .to_i64_vec()?
                            .into_iter()
                            .map(|x| x.max(0) as usize)
                            .collect();
                        if v.iter().sum::<usize>() != dim {
                            return Err(bad("split sizes do not add up to the axis length"));
                        }
                        (v, false)
                    }
                    _ => (vec![1; dim], !keepdims),
                };
                let mut out = Vec::new();
                let mut start = 0;
                for sz in sizes {
                    let mut part = slice_axis(t, ax, start, sz)?;
                    if squeeze {
                        let mut shp = part.shape().to_vec();
                        shp.remove(ax);
                        part = part.reshaped(shp)?;
                    }
                    out.push(part);
                    start += sz;
                }
                Value::Sequence(out)
            }
            SeqOp::ConcatFromSequence { axis, new_axis } => {
                let s = seq(0)?;
                let first = s
                    .first()
                    .ok_or_else(|| bad("cannot concatenate an empty sequence"))?;
                let rank = first.rank() + *new_axis as usize;
                let ax = norm_axis(name, *axis, rank)?;
                let parts: Vec<Tensor> = if *new_axis {
                    s.iter()
                        .map(|t| {
                            let mut shp = t.shape().to_vec();
                            shp.insert(ax, 1);
                            t.clone().reshaped(shp)
                        })
                        .collect::<Result<_, _>>()?
                } else {
                    s.clone()
                };
                Value::Tensor(concat_axis(&parts, ax)?)
            }
            SeqOp::Map { .. } => return Err(bad("SequenceMap runs in the executor")),
            SeqOp::Optional => match get(0) {
                Some(v) => Value::Optional(Some(Box::new(v.clone()))),
                None => Value::Optional(None),
            },
            SeqOp::OptionalHasElement => {
                let has = match get(0) {
                    Some(Value::Optional(o)) => o.is_some(),
                    Some(_) => true,
                    None => false,
                };
                Value::Tensor(Tensor::scalar(has))
            }
            SeqOp::OptionalGetElement => match get(0) {
                Some(Value::Optional(Some(v))) => (**v).clone(),
                Some(Value::Optional(None)) => return Err(bad("the optional is empty")),
                Some(v) => v.clone(),
                None => return Err(bad("missing input")),
            },
        }])
    }
}

/// `t[..., start..start+len, ...]` along `axis`.
pub fn slice_axis(
    t: &Tensor,
    axis: usize,
    start: usize,
    len: usize,
) -> Result<Tensor, KernelError> {
    let mut shape = t.shape().to_vec();
    let st = t.strides();
    shape[axis] = len;
    suanli_kernels::util::strided_copy(t, &shape, &st, start * st[axis])
}

/// Concatenate tensors along `axis` (all dims but `axis` must agree).
pub fn concat_axis(parts: &[Tensor], axis: usize) -> Result<Tensor, KernelError> {
    let first = parts
        .first()
        .ok_or_else(|| KernelError::invalid("Concat", "no inputs"))?;
    let dt = first.dtype();
    let mut shape = first.shape().to_vec();
    shape[axis] = 0;
    for p in parts {
        if p.dtype() != dt || p.rank() != shape.len() {
            return Err(KernelError::invalid(
                "Concat",
                "inputs differ in dtype or rank",
            ));
        }
        for (d, (&a, &b)) in p.shape().iter().zip(first.shape()).enumerate() {
            if d != axis && a != b {
                return Err(KernelError::invalid(
                    "Concat",
                    format!("inputs differ in dim {d}"),
                ));
            }
        }
        shape[axis] += p.shape()[axis];
    }
    let outer: usize = shape[..axis].iter().product();
    // Copy each part's contiguous block per outer index (works for strings too).
    fn go<T: Clone>(parts: &[&[T]], inner: &[usize], outer: usize) -> Vec<T> {
        let mut out = Vec::new();
        for o in 0..outer {
            for (p, &blk) in parts.iter().zip(inner) {
                out.extend_from_slice(&p[o * blk..(o + 1) * blk]);
            }
        }
        out
    }
    let inner: Vec<usize> = parts
        .iter()
        .map(|p| p.shape()[axis..].iter().product())
        .collect();
    use suanli_kernels::{HostElem, TensorData};
    fn typed<T: HostElem>(
        parts: &[Tensor],
        inner: &[usize],
        outer: usize,
    ) -> Result<TensorData, KernelError> {
        let v: Vec<&[T]> = parts
            .iter()
            .map(|p| p.as_slice::<T>())
            .collect::<Result<_, _>>()?;
        Ok(T::wrap(go(&v, inner, outer)))
    }
    let data = suanli_kernels::dispatch_dtype!(dt, typed(parts, &inner, outer), str => {
        let v: Vec<&[String]> = parts.iter().map(|p| p.as_strings()).collect::<Result<_, _>>()?;
        Ok(TensorData::Str(go(&v, &inner, outer)))
    })?;
    Tensor::new(shape, data)
}
