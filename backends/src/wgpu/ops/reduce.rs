//! WGSL kernels for the reduce family: Reduce* over any axis set, ArgMax/ArgMin, the softmax
//! family, CumSum/CumProd.
//!
//! Reductions see the input as two index spaces (kept and reduced dims, merged where
//! adjacent) so any axis set runs without a transpose. Each output is computed by one
//! workgroup with a tree reduction in workgroup memory when the reduced extent is large, or by
//! one invocation when it is small. Empty reductions (nothing to reduce) are answered on the
//! host by the CPU kernel, since their value is a constant.

use super::{shader, Shader, Target, WgslOp};
use crate::device::{DeviceError, Result};
use crate::wgpu::launch::{grid_1d, Buf, LaunchCx};
use crate::wgpu::memory::Repr;
use suanli_kernels::ops::reduce::{ArgKind, ReduceKind, ScanKind, SoftmaxKind};
use suanli_kernels::ops::ReduceOp;
use suanli_kernels::shape::norm_axis;
use suanli_kernels::{DType, KernelError, KernelSpec, OpImpl, Tensor};

const AXES_WGSL: &str = include_str!("../../../../shaders/reduce_axes.wgsl");
const MAIN_WG: &str = include_str!("../../../../shaders/reduce_main_wg.wgsl");
const MAIN_TH: &str = include_str!("../../../../shaders/reduce_main_th.wgsl");
const ARG_WG: &str = include_str!("../../../../shaders/reduce_arg_wg.wgsl");
const ARG_TH: &str = include_str!("../../../../shaders/reduce_arg_th.wgsl");
const LANE_WGSL: &str = include_str!("../../../../shaders/softmax_lane.wgsl");
const LANE_WG: &str = include_str!("../../../../shaders/softmax_main_wg.wgsl");
const LANE_TH: &str = include_str!("../../../../shaders/softmax_main_th.wgsl");
const SCAN_WGSL: &str = include_str!("../../../../shaders/reduce_scan.wgsl");

/// Most merged kept (or reduced) dims the axis shader takes.
const MAX_DIMS: usize = 8;

/// Reduced extents from which one workgroup (rather than one invocation) computes an output.
fn use_workgroup(red: usize, outputs: usize) -> bool {
    red >= 256 || (red >= 32 && outputs < 2048)
}

pub(crate) use crate::lowering::AxesLayout;

/// The shader parameters of an [`AxesLayout`] (see `reduce_axes.wgsl`), or an error past
/// [`MAX_DIMS`] groups.
pub(crate) fn axes_params(lay: &AxesLayout, op: &'static str) -> Result<Vec<u32>> {
    Ok(lay.table(op, MAX_DIMS)?.into_iter().map(|v| v as u32).collect())
}

/// Which computation the axis shader runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum AxisKind {
    /// A Reduce* kind.
    Reduce(ReduceKind),
    /// ArgMax / ArgMin with select_last_index.
    Arg(ArgKind, bool),
    /// MeanVarianceNormalization (writes every element).
    Mvn,
}

/// The per-kind WGSL functions of the axis shader (`pre1`/`comb1`/`init1`, phase 2, `finish`).
fn kind_wgsl(kind: AxisKind) -> String {
    use ReduceKind as K;
    let mut phases = 1;
    let (argmax, last) = match kind {
        AxisKind::Arg(k, l) => (k == ArgKind::Max, l),
        _ => (false, false),
    };
    let pre1 = match kind {
        AxisKind::Reduce(K::L1) => "return abs_a(A(x));",
        AxisKind::Reduce(K::L2 | K::SumSquare) => "let v = A(x); return v * v;",
        AxisKind::Reduce(K::LogSumExp) => "let v = A(x); return select(v, A(-3.40282347e38), v - v != A(0));",
        _ => "return A(x);",
    };
    let comb1 = match kind {
        AxisKind::Reduce(K::Max) => "if (a != a) { return a; } if (b != b) { return b; } return select(a, b, b > a);",
        AxisKind::Reduce(K::Min) => "if (a != a) { return a; } if (b != b) { return b; } return select(a, b, b < a);",
        AxisKind::Reduce(K::Prod) => "return a * b;",
        AxisKind::Reduce(K::LogSumExp) => "return select(a, b, b > a);",
        _ => "return a + b;",
    };
    let init1 = match kind {
        AxisKind::Reduce(K::Max | K::Min) => "return first;",
        AxisKind::Reduce(K::Prod) => "return A(1);",
        AxisKind::Reduce(K::LogSumExp) => "return A(-3.40282347e38);",
        _ => "return A(0);",
    };
    let pre2 = match kind {
        AxisKind::Reduce(K::LogSumExp) => {
            phases = 2;
            "return exp_a(A(x) - lse_shift(s1));"
        }
        AxisKind::Mvn => {
            phases = 2;
            "let d = A(x) - s1 / A(P[1]); return d * d;"
        }
        _ => "return s1;",
    };
    let post = match kind {
        AxisKind::Reduce(K::Mean) => "O(s1 / A(P[1]))",
        AxisKind::Reduce(K::L2) => "O(sqrt(s1))",
        AxisKind::Reduce(K::LogSum) => "O(log_a(s1))",
        AxisKind::Reduce(K::LogSumExp) => "O(log_a(s2) + lse_shift(s1))",
        _ => "O(s1)",
    };
    let finish = if kind == AxisKind::Mvn {
        "let n = A(P[1]);
    let m = s1 / n;
    let d = sqrt(max(s2 / n, A(0))) + A(1e-9);
    for (var r = start; r < P[1]; r = r + step) {
        let i = base + red_off(r);
        Y[i] = O((A(X[i]) - m) / d);
    }"
        .to_string()
    } else {
        format!("if (start == 0u) {{ Y[o] = {post}; }}")
    };
    let lse = if kind == AxisKind::Reduce(K::LogSumExp) {
        "fn lse_shift(m: A) -> A { return select(m, A(0), m <= A(-3.40282347e38)); }\n"
    } else {
        ""
    };
    format!(
        "const PHASES: u32 = {phases}u;
const ARGMAX: bool = {argmax};
const LAST: bool = {last};
{lse}fn pre1(x: T) -> A {{ {pre1} }}
fn comb1(a: A, b: A) -> A {{ {comb1} }}
fn init1(first: A) -> A {{ {init1} }}
fn pre2(x: T, s1: A) -> A {{ {pre2} }}
fn comb2(a: A, b: A) -> A {{ return a + b; }}
fn init2() -> A {{ return A(0); }}
fn finish(o: u32, base: u32, s1: A, s2: A, start: u32, step: u32) {{
    {finish}
}}
"
    )
}

/// The two shaders (workgroup-per-output, invocation-per-output) of an axis kernel.
pub(crate) fn axis_shaders(kind: AxisKind, t: Repr, a: Repr, o: Repr) -> Vec<Shader> {
    let abs = if matches!(a, Repr::U32 | Repr::U64) {
        "return v;"
    } else {
        "return abs(v);"
    };
    // Vulkan has no f64 exp/log: f64 accumulations take them in f32 (relative error ~1e-7).
    let tr = match a {
        Repr::F64 => "fn exp_a(v: A) -> A { return A(exp(f32(v))); }\nfn log_a(v: A) -> A { return A(log(f32(v))); }\n",
        Repr::F32 | Repr::F16 => "fn exp_a(v: A) -> A { return exp(v); }\nfn log_a(v: A) -> A { return log(v); }\n",
        _ => "",
    };
    let common = format!("fn abs_a(v: A) -> A {{ {abs} }}\n{tr}{}{AXES_WGSL}", kind_wgsl(kind));
    let (wg, th) = match kind {
        AxisKind::Arg(..) => (ARG_WG, ARG_TH),
        _ => (MAIN_WG, MAIN_TH),
    };
    let al = [("T", t), ("A", a), ("O", o)];
    vec![
        shader("reduce_axes_wg", &al, &format!("{common}{wg}")),
        shader("reduce_axes_th", &al, &format!("{common}{th}")),
    ]
}

/// Record the dispatch of an axis kernel whose shaders are 0 (workgroup) and 1 (invocation).
pub(crate) fn dispatch_axes(cx: &mut LaunchCx, lay: &AxesLayout, params: Vec<u32>, bufs: &[Buf], force_th: bool) {
    let (n, r) = (lay.outputs(), lay.reduced());
    if !force_th && use_workgroup(r, n) {
        cx.dispatch(0, params, bufs, grid_1d(n, 1));
    } else {
        cx.dispatch_1d(1, params, bufs, n);
    }
}

fn invalid(op: &str, msg: impl Into<String>) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(op, msg.into()))
}

/// A Reduce* or ArgMax/ArgMin node.
struct AxisReduce {
    op: ReduceOp,
    kind: AxisKind,
    shaders: Vec<Shader>,
}

impl WgslOp for AxisReduce {
    fn shaders(&self) -> Vec<Shader> {
        self.shaders.clone()
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let name = self.op.name();
        let shape = cx.shape(0)?.to_vec();
        let rank = shape.len();
        let (red_axes, keep): (Vec<usize>, bool) = match &self.op {
            ReduceOp::Reduce {
                axes,
                keepdims,
                noop_with_empty_axes,
                ..
            } => {
                let axes = match axes {
                    Some(a) => a.clone(),
                    None if cx.has(1) => cx.value(1)?.to_i64_vec()?,
                    None => vec![],
                };
                let mut red = if axes.is_empty() {
                    if *noop_with_empty_axes {
                        vec![]
                    } else {
                        (0..rank).collect()
                    }
                } else if rank == 0 {
                    for &a in &axes {
                        norm_axis(name, a, rank)?;
                    }
                    vec![]
                } else {
                    axes.iter()
                        .map(|&a| norm_axis(name, a, rank))
                        .collect::<Result<Vec<_>, _>>()?
                };
                red.sort_unstable();
                red.dedup();
                (red, *keepdims)
            }
            ReduceOp::Arg { axis, keepdims, .. } => {
                if rank == 0 {
                    return Err(invalid(name, "input must have rank >= 1"));
                }
                (vec![norm_axis(name, *axis, rank)?], *keepdims)
            }
            _ => return Err(invalid(name, "internal: not an axis reduction")),
        };
        let mut is_red = vec![false; rank];
        red_axes.iter().for_each(|&a| is_red[a] = true);
        let out_shape: Vec<usize> = (0..rank)
            .filter_map(|i| match (is_red[i], keep) {
                (false, _) => Some(shape[i]),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect();
        let lay = AxesLayout::new(&shape, &is_red);
        let out_dt = match self.kind {
            AxisKind::Arg(..) => DType::I64,
            _ => cx.dtype(0)?,
        };
        if lay.reduced() == 0 && lay.outputs() > 0 {
            if matches!(self.kind, AxisKind::Arg(..)) {
                return Err(invalid(name, "cannot take the arg-extreme of an empty axis"));
            }
            // Nothing to reduce: the value is a constant the CPU kernel knows.
            let empty = Tensor::zeros(cx.dtype(0)?, shape.clone());
            let axes = if cx.has(1) { Some(cx.value(1)?) } else { None };
            let out = self.op.run(&[Some(&empty), axes.as_ref()])?;
            let t = out.into_iter().next().ok_or_else(|| invalid(name, "no output"))?;
            return cx.host_output(t);
        }
        let y = cx.output(out_dt, out_shape)?;
        let params = axes_params(&lay, name)?;
        dispatch_axes(cx, &lay, params, &[Buf::In(0), y], false);
        Ok(())
    }
}

/// Softmax / LogSoftmax / Hardmax (and, from the norm family, LpNormalization) along a lane.
pub(crate) struct Lane {
    /// 0 softmax, 1 log-softmax, 2 hardmax, 3 L1, 4 L2.
    pub kind: u32,
    /// The axis.
    pub axis: i64,
    /// Flatten at `axis` (opset < 13 softmax).
    pub coerce_2d: bool,
    /// Op name for errors.
    pub name: &'static str,
    /// The element representation.
    pub repr: Repr,
}

impl WgslOp for Lane {
    fn shaders(&self) -> Vec<Shader> {
        let head = format!("const KIND: u32 = {}u;\n{LANE_WGSL}", self.kind);
        let al = [("T", self.repr)];
        vec![
            shader("softmax_wg", &al, &format!("{head}{LANE_WG}")),
            shader("softmax_th", &al, &format!("{head}{LANE_TH}")),
        ]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let shape = cx.shape(0)?.to_vec();
        let a = norm_axis(self.name, self.axis, shape.len().max(1))?;
        let (outer, n, inner) = if shape.is_empty() {
            (1, 1, 1)
        } else if self.coerce_2d {
            (shape[..a].iter().product(), shape[a..].iter().product(), 1)
        } else {
            (
                shape[..a].iter().product(),
                shape[a],
                shape[a + 1..].iter().product::<usize>(),
            )
        };
        let y = cx.output(cx.dtype(0)?, shape)?;
        let lanes = outer * inner;
        if lanes * n == 0 {
            return Ok(());
        }
        let params = vec![lanes as u32, n as u32, inner as u32];
        if self.kind != 2 && use_workgroup(n, lanes) {
            cx.dispatch(0, params, &[Buf::In(0), y], grid_1d(lanes, 1));
        } else {
            cx.dispatch_1d(1, params, &[Buf::In(0), y], lanes);
        }
        Ok(())
    }
}

/// CumSum / CumProd: one invocation per lane scanning sequentially.
struct Scan {
    kind: ScanKind,
    exclusive: bool,
    reverse: bool,
    t: Repr,
    a: Repr,
}

impl WgslOp for Scan {
    fn shaders(&self) -> Vec<Shader> {
        let head = format!(
            "const PROD: bool = {};\nconst EXCLUSIVE: bool = {};\nconst REVERSE: bool = {};\n",
            self.kind == ScanKind::Prod,
            self.exclusive,
            self.reverse
        );
        vec![shader(
            "reduce_scan",
            &[("T", self.t), ("A", self.a)],
            &format!("{head}{SCAN_WGSL}"),
        )]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let name = if self.kind == ScanKind::Sum {
            "CumSum"
        } else {
            "CumProd"
        };
        let shape = cx.shape(0)?.to_vec();
        let av = cx.value(1)?;
        if av.len() != 1 {
            return Err(invalid(
                name,
                format!("axis must hold one value, found shape {:?}", av.shape()),
            ));
        }
        if shape.is_empty() {
            return Err(invalid(name, "input must have rank >= 1"));
        }
        let a = norm_axis(name, av.to_i64_vec()?[0], shape.len())?;
        let outer: usize = shape[..a].iter().product();
        let inner: usize = shape[a + 1..].iter().product();
        let n = shape[a];
        let y = cx.output(cx.dtype(0)?, shape)?;
        let lanes = outer * inner;
        cx.dispatch_1d(
            0,
            vec![lanes as u32, n as u32, inner as u32],
            &[Buf::In(0), y],
            lanes * n.min(1),
        );
        Ok(())
    }
}

/// The accumulator representation of a sum-like reduction of `t`.
fn acc_repr(t: Repr) -> Repr {
    match t {
        Repr::F16 => Repr::F32,
        other => other,
    }
}

/// Lower a reduce spec, or say why the wgpu device cannot run it.
pub fn lower(op: &ReduceOp, spec: &KernelSpec, target: &Target) -> Result<Box<dyn WgslOp>, String> {
    let dt = spec
        .inputs
        .first()
        .and_then(|t| t.as_ref())
        .map(|t| t.dtype)
        .ok_or("input 0 is missing")?;
    let t = target.repr(dt)?;
    let name = op.name();
    let narrow_int = matches!(dt, DType::I8 | DType::I16 | DType::U8 | DType::U16);
    match op {
        ReduceOp::Reduce { kind, .. } => {
            use ReduceKind as K;
            let ok = match kind {
                K::Max | K::Min => dt.is_numeric() || dt == DType::Bool,
                _ if dt == DType::Bool || narrow_int => false,
                K::Sum | K::Mean | K::Prod | K::L1 | K::SumSquare => dt.is_numeric(),
                K::L2 | K::LogSum | K::LogSumExp => dt.is_float(),
            };
            if !ok {
                return Err(format!("{name} on {dt} has no WGSL kernel"));
            }
            let a = match kind {
                K::Max | K::Min => t,
                _ => acc_repr(t),
            };
            let kind = AxisKind::Reduce(*kind);
            Ok(Box::new(AxisReduce {
                op: op.clone(),
                kind,
                shaders: axis_shaders(kind, t, a, t),
            }))
        }
        ReduceOp::Arg {
            kind,
            select_last_index,
            ..
        } => {
            if !(dt.is_numeric() || dt == DType::Bool) {
                return Err(format!("{name} on {dt} has no WGSL kernel"));
            }
            let kind = AxisKind::Arg(*kind, *select_last_index);
            Ok(Box::new(AxisReduce {
                op: op.clone(),
                kind,
                shaders: axis_shaders(kind, t, t, Repr::I64),
            }))
        }
        ReduceOp::Softmax { kind, axis, coerce_2d } => {
            let k = match kind {
                SoftmaxKind::Softmax => 0,
                SoftmaxKind::LogSoftmax => 1,
                SoftmaxKind::Hardmax => 2,
            };
            // f64 rows are computed in f32 (Vulkan has no f64 exp/log).
            let ok = match kind {
                SoftmaxKind::Hardmax => dt.is_numeric(),
                _ => dt.is_float(),
            };
            if !ok {
                return Err(format!("{name} on {dt} has no WGSL kernel"));
            }
            Ok(Box::new(Lane {
                kind: k,
                axis: *axis,
                coerce_2d: *coerce_2d,
                name,
                repr: t,
            }))
        }
        ReduceOp::Scan {
            kind,
            exclusive,
            reverse,
        } => {
            if !dt.is_numeric() || narrow_int || !spec.inputs.get(1).is_some_and(|a| a.is_some()) {
                return Err(format!("{name} on {dt} has no WGSL kernel"));
            }
            Ok(Box::new(Scan {
                kind: *kind,
                exclusive: *exclusive,
                reverse: *reverse,
                t,
                a: acc_repr(t),
            }))
        }
        _ => Err(format!("no WGSL kernel for {name}")),
    }
}

#[cfg(test)]
#[path = "reduce_tests.rs"]
mod tests;
