//! Host execution of subgraphs and control flow: If, Loop, Scan, SequenceMap.
//!
//! Subgraph bodies run on the host with the CPU kernels; the main graph's kernels run on the
//! devices chosen by placement.

use crate::error::{Error, Result};
use crate::graph::seq::{concat_axis, slice_axis};
use crate::graph::{Graph, Node, NodeOp, ScanSpec, SeqOp, Value, ValueId};
use std::collections::HashMap;
use suanli_kernels::shape::norm_axis;
use suanli_kernels::{KernelError, Tensor};

/// Run a node that is not a plain kernel (control flow, sequence op) on host values.
/// `captured` maps outer value names to values for the subgraphs' captures.
pub fn run_host_node(node: &Node, outer: &Graph, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
    let formal = &inputs[..node.formal_inputs.min(inputs.len())];
    let captured: HashMap<&str, &Value> = node.inputs[node.formal_inputs..]
        .iter()
        .zip(&inputs[node.formal_inputs.min(inputs.len())..])
        .filter_map(|(v, x)| Some((outer.name((*v)?), x.as_ref()?)))
        .collect();
    let kerr = |e: KernelError| Error::kernel(&node.name, node.op.name(), e);
    match &node.op {
        NodeOp::Kernel(op) => {
            let ts: Vec<Option<&Tensor>> = formal
                .iter()
                .map(|v| v.as_ref().and_then(|v| v.as_tensor()))
                .collect();
            Ok(op
                .run(&ts)
                .map_err(kerr)?
                .into_iter()
                .map(Value::Tensor)
                .collect())
        }
        NodeOp::Seq(SeqOp::Map { body }) => seq_map(node, body, formal, &captured),
        NodeOp::Seq(s) => {
            let refs: Vec<Option<&Value>> = formal.iter().map(|v| v.as_ref()).collect();
            s.run(&refs).map_err(kerr)
        }
        NodeOp::If {
            then_branch,
            else_branch,
        } => {
            let c = tensor_arg(node, formal, 0)?.scalar_f64().map_err(kerr)? != 0.0;
            eval_graph(if c { then_branch } else { else_branch }, &[], &captured)
        }
        NodeOp::Loop { body } => run_loop(node, body, formal, &captured),
        NodeOp::Scan { body, spec } => run_scan(node, body, spec, formal, &captured),
    }
}

fn tensor_arg<'a>(node: &Node, inputs: &'a [Option<Value>], i: usize) -> Result<&'a Tensor> {
    match inputs.get(i) {
        Some(Some(Value::Tensor(t))) => Ok(t),
        _ => Err(Error::InvalidNode {
            node: node.name.clone(),
            op_type: node.op.name().into(),
            msg: format!("input {i} must be a tensor"),
        }),
    }
}

/// Evaluate a (sub)graph on the host: `inputs` bind its formal inputs in order, `captured`
/// supplies outer values by name.
pub fn eval_graph(
    g: &Graph,
    inputs: &[Value],
    captured: &HashMap<&str, &Value>,
) -> Result<Vec<Value>> {
    let mut env: Vec<Option<Value>> = vec![None; g.values.len()];
    for (i, &v) in g.inputs.iter().enumerate() {
        env[v.0] = inputs.get(i).cloned();
    }
    for (name, v) in &g.captures {
        env[v.0] = captured.get(name.as_str()).map(|x| (*x).clone());
    }
    for (&v, t) in &g.constants {
        env[v.0] = Some(Value::Tensor((**t).clone()));
    }
    let last = g.last_uses();
    for (ni, node) in g.nodes.iter().enumerate() {
        let ins: Vec<Option<Value>> = node
            .inputs
            .iter()
            .map(|v| v.and_then(|v| env[v.0].clone()))
            .collect();
        for (v, x) in node.inputs.iter().zip(&ins) {
            if let (Some(v), None) = (v, x) {
                return Err(Error::InvalidModel(format!(
                    "node {:?}: value {:?} has no value",
                    node.name,
                    g.name(*v)
                )));
            }
        }
        let outs = run_host_node(node, g, &ins)?;
        for (o, val) in node.outputs.iter().zip(outs) {
            if let Some(o) = o {
                env[o.0] = Some(val);
            }
        }
        for v in node.inputs.iter().flatten() {
            if last[v.0] == Some(ni) && !g.inputs.contains(v) {
                env[v.0] = None;
            }
        }
    }
    g.outputs
        .iter()
        .map(|v: &ValueId| {
            env[v.0].clone().ok_or_else(|| {
                Error::InvalidModel(format!("subgraph output {:?} was not computed", g.name(*v)))
            })
        })
        .collect()
}

fn stack(parts: &[Tensor], axis: usize) -> std::result::Result<Tensor, KernelError> {
    let expanded: Vec<Tensor> = parts
        .iter()
        .map(|t| {
            let mut s = t.shape().to_vec();
            s.insert(axis.min(s.len()), 1);
            t.clone().reshaped(s)
        })
        .collect::<std::result::Result<_, _>>()?;
    concat_axis(&expanded, axis)
}

fn run_loop(
    node: &Node,
    body: &Graph,
    inputs: &[Option<Value>],
    captured: &HashMap<&str, &Value>,
) -> Result<Vec<Value>> {
    let kerr = |e: KernelError| Error::kernel(&node.name, "Loop", e);
    let max_trip = match inputs.first() {
        Some(Some(Value::Tensor(t))) => Some(t.scalar_i64().map_err(kerr)?),
        _ => None,
    };
    let mut cond = match inputs.get(1) {
        Some(Some(Value::Tensor(t))) => t.scalar_f64().map_err(kerr)? != 0.0,
        _ => true,
    };
    let mut state: Vec<Value> = inputs
        .iter()
        .skip(2)
        .map(|v| v.clone().unwrap_or(Value::Optional(None)))
        .collect();
    let n_state = state.len();
    let n_scan = body.outputs.len().saturating_sub(1 + n_state);
    let mut scans: Vec<Vec<Tensor>> = vec![Vec::new(); n_scan];
    let mut i = 0i64;
    while cond && max_trip.is_none_or(|m| i < m) {
        let mut args = vec![
            Value::Tensor(Tensor::scalar(i)),
            Value::Tensor(Tensor::scalar(cond)),
        ];
        args.extend(state.iter().cloned());
        let outs = eval_graph(body, &args, captured)?;
        let mut it = outs.into_iter();
        cond = match it.next() {
            Some(Value::Tensor(t)) => t.scalar_f64().map_err(kerr)? != 0.0,
            _ => {
                return Err(Error::kernel(
                    &node.name,
                    "Loop",
                    KernelError::invalid("Loop", "body must return a condition tensor"),
                ))
            }
        };
        state = it.by_ref().take(n_state).collect();
        for (k, v) in it.enumerate() {
            match v {
                Value::Tensor(t) => scans[k].push(t),
                other => {
                    return Err(Error::kernel(
                        &node.name,
                        "Loop",
                        KernelError::invalid(
                            "Loop",
                            format!("scan output must be a tensor, got {}", other.describe()),
                        ),
                    ))
                }
            }
        }
        i += 1;
        if i > 10_000_000 {
            return Err(Error::kernel(
                &node.name,
                "Loop",
                KernelError::invalid("Loop", "more than 10^7 iterations"),
            ));
        }
    }
    let mut out = state;
    for (k, s) in scans.into_iter().enumerate() {
        if s.is_empty() {
            let dt = body
                .outputs
                .get(1 + n_state + k)
                .and_then(|v| body.values[v.0].ty.tensor().map(|t| t.dtype))
                .unwrap_or(suanli_kernels::DType::F32);
            out.push(Value::Tensor(Tensor::zeros(dt, vec![0])));
        } else {
            out.push(Value::Tensor(stack(&s, 0).map_err(kerr)?));
        }
    }
    Ok(out)
}

fn run_scan(
    node: &Node,
    body: &Graph,
    spec: &ScanSpec,
    inputs: &[Option<Value>],
    captured: &HashMap<&str, &Value>,
) -> Result<Vec<Value>> {
    let kerr = |e: KernelError| Error::kernel(&node.name, "Scan", e);
    let tensors: Vec<Tensor> = inputs
        .iter()
        .skip(if spec.batched { 1 } else { 0 })
        .map(|v| match v {
            Some(Value::Tensor(t)) => Ok(t.clone()),
            _ => Err(kerr(KernelError::invalid("Scan", "inputs must be tensors"))),
        })
        .collect::<Result<_>>()?;
    if spec.batched {
        // Opset 8: a leading batch axis on every input; scan along axis 1 of each batch item.
        let batch = tensors
            .first()
            .map(|t| t.shape().first().copied().unwrap_or(0))
            .unwrap_or(0);
        let mut per_out: Vec<Vec<Tensor>> = Vec::new();
        for b in 0..batch {
            let items: Vec<Option<Value>> = tensors
                .iter()
                .map(|t| {
                    let s = slice_axis(t, 0, b, 1)?;
                    let shp = s.shape()[1..].to_vec();
                    Ok(Some(Value::Tensor(s.reshaped(shp)?)))
                })
                .collect::<std::result::Result<_, KernelError>>()
                .map_err(kerr)?;
            let sub = ScanSpec {
                batched: false,
                ..spec.clone()
            };
            let outs = run_scan(node, body, &sub, &items, captured)?;
            per_out.resize(outs.len(), Vec::new());
            for (k, o) in outs.into_iter().enumerate() {
                if let Value::Tensor(t) = o {
                    per_out[k].push(t);
                }
            }
        }
        return per_out
            .iter()
            .map(|p| stack(p, 0).map(Value::Tensor).map_err(kerr))
            .collect();
    }
    let n_scan = spec.num_scan_inputs;
    if n_scan > tensors.len() {
        return Err(kerr(KernelError::invalid(
            "Scan",
            "num_scan_inputs exceeds the number of inputs",
        )));
    }
    let n_state = tensors.len() - n_scan;
    let mut state: Vec<Value> = tensors[..n_state]
        .iter()
        .cloned()
        .map(Value::Tensor)
        .collect();
    let scan_in = &tensors[n_state..];
    let mut axes = Vec::new();
    for (k, t) in scan_in.iter().enumerate() {
        let a = spec.input_axes.get(k).copied().unwrap_or(0);
        axes.push(norm_axis("Scan", a, t.rank()).map_err(kerr)?);
    }
    let len = scan_in.first().map(|t| t.shape()[axes[0]]).unwrap_or(0);
    let n_out = body.outputs.len().saturating_sub(n_state);
    let mut outs: Vec<Vec<Tensor>> = vec![Vec::new(); n_out];
    for it in 0..len {
        let mut args = state.clone();
        for (k, t) in scan_in.iter().enumerate() {
            let rev = spec.input_reverse.get(k).copied().unwrap_or(false);
            let idx = if rev { len - 1 - it } else { it };
            if t.shape()[axes[k]] != len {
                return Err(kerr(KernelError::invalid(
                    "Scan",
                    "scan inputs differ in length",
                )));
            }
            let s = slice_axis(t, axes[k], idx, 1).map_err(kerr)?;
            let mut shp = s.shape().to_vec();
            shp.remove(axes[k]);
            args.push(Value::Tensor(s.reshaped(shp).map_err(kerr)?));
        }
        let res = eval_graph(body, &args, captured)?;
        let mut res = res.into_iter();
        state = res.by_ref().take(n_state).collect();
        for (k, v) in res.enumerate() {
            if let Value::Tensor(t) = v {
                outs[k].push(t);
            }
        }
    }
    let mut result = state;
    for (k, mut parts) in outs.into_iter().enumerate() {
        if spec.output_reverse.get(k).copied().unwrap_or(false) {
            parts.reverse();
        }
        let rank = parts.first().map(|t| t.rank() + 1).unwrap_or(1);
        let ax =
            norm_axis("Scan", spec.output_axes.get(k).copied().unwrap_or(0), rank).map_err(kerr)?;
        if parts.is_empty() {
            result.push(Value::Tensor(Tensor::zeros(
                suanli_kernels::DType::F32,
                vec![0],
            )));
        } else {
            result.push(Value::Tensor(stack(&parts, ax).map_err(kerr)?));
        }
    }
    Ok(result)
}

fn seq_map(
    node: &Node,
    body: &Graph,
    inputs: &[Option<Value>],
    captured: &HashMap<&str, &Value>,
) -> Result<Vec<Value>> {
    let bad = |m: &str| {
        Error::kernel(
            &node.name,
            "SequenceMap",
            KernelError::invalid("SequenceMap", m.to_string()),
        )
    };
    let len = match inputs.first() {
        Some(Some(Value::Sequence(s))) => s.len(),
        _ => return Err(bad("input 0 must be a sequence")),
    };
    let mut outs: Vec<Vec<Tensor>> = vec![Vec::new(); body.outputs.len()];
    for i in 0..len {
        let mut args = Vec::new();
        for v in inputs {
            args.push(match v {
                Some(Value::Sequence(s)) => Value::Tensor(
                    s.get(i)
                        .cloned()
                        .ok_or_else(|| bad("input sequences differ in length"))?,
                ),
                Some(other) => other.clone(),
                None => return Err(bad("missing input")),
            });
        }
        for (k, v) in eval_graph(body, &args, captured)?.into_iter().enumerate() {
            match v {
                Value::Tensor(t) => outs[k].push(t),
                _ => return Err(bad("body outputs must be tensors")),
            }
        }
    }
    Ok(outs.into_iter().map(Value::Sequence).collect())
}
