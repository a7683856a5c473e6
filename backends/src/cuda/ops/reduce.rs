//! CUDA kernels for the reduce family: Reduce* over any axis set, ArgMax/ArgMin, the softmax
//! family (Softmax, LogSoftmax, Hardmax) and CumSum/CumProd.
//!
//! Reductions see the input as two index spaces (kept and reduced dims, merged where
//! adjacent), so any axis set runs without a transpose (`shaders/reduce_axes.cu`). A [`Plan`]
//! splits each block between outputs and the reduced range: a block or warps per output with
//! shuffle reductions for long contiguous rows, a thread per output for short ones, several
//! threads per output with a shared-memory tree for strided columns. Sum-like reductions of
//! floats accumulate in double and of integers in wrapping 64-bit integers, like the CPU.
//! Empty reductions (nothing to reduce) are answered on the host by the CPU kernel, since their
//! value is a constant.

use super::{source, CudaOp, CudaSource};
use crate::cuda::launch::{grid_1d, Arg, Buf, LaunchCx};
use crate::device::{DeviceError, Result};
use suanli_kernels::ops::reduce::{ArgKind, ReduceKind, ScanKind, SoftmaxKind};
use suanli_kernels::ops::ReduceOp;
use suanli_kernels::shape::norm_axis;
use suanli_kernels::{DType, KernelSpec, OpImpl, Tensor};

pub(crate) const AXES_CU: &str = include_str!("../../../../shaders/reduce_axes.cu");
const REDUCE_CU: &str = include_str!("../../../../shaders/reduce.cu");
const ARG_CU: &str = include_str!("../../../../shaders/reduce_arg.cu");
const LANE_CU: &str = include_str!("../../../../shaders/softmax.cu");
const SCAN_CU: &str = include_str!("../../../../shaders/reduce_scan.cu");

/// Most merged kept (or reduced) dim groups `AxesP` holds.
pub(crate) const MAX_DIMS: usize = 8;
/// Shared-memory bytes per reduction state (`SUANLI_STATE_BYTES`).
pub(crate) const STATE_BYTES: u32 = 32;

pub(crate) use crate::lowering::AxesLayout;

/// The `AxesP` words of an [`AxesLayout`] (see `reduce_axes.cu`), or an error past
/// [`MAX_DIMS`] groups.
pub(crate) fn axes_words(lay: &AxesLayout, op: &str) -> Result<Vec<i64>> {
    Ok(lay.table(op, MAX_DIMS)?.into_iter().map(|v| v as i64).collect())
}

/// How a reduction kernel splits its blocks (see `reduce_axes.cu`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Threads per output.
    pub rt: u32,
    /// 0: rows (`rt` a multiple of 32, shuffles); 1: columns (`rt` a power of two, tree).
    pub mode: i32,
    /// Threads per block.
    pub block: u32,
    /// Blocks (the kernel loops over output groups beyond them).
    pub grid: u32,
    /// Dynamic shared memory in bytes.
    pub shared: u32,
}

/// The plan for `outs` outputs of `red` elements each; `contiguous` when a row's elements
/// are adjacent in memory.
pub(crate) fn plan(outs: usize, red: usize, contiguous: bool) -> Plan {
    let (rt, mode, ob) = if contiguous && red >= 16 {
        // Warps (up to a block of 1024) per row, about eight elements per thread.
        let rt = (red / 8).next_power_of_two().clamp(32, 1024);
        (rt, 0, (256 / rt).max(1))
    } else if outs >= 8192 || red < 4 {
        // A thread per output: enough outputs to fill the GPU.
        (1, 1, outs.next_power_of_two().clamp(32, 256))
    } else {
        // Columns: up to 32 adjacent outputs per block, the rest of the block splitting rows.
        let ob = outs.next_power_of_two().min(32);
        let rt = red.div_ceil(8).next_power_of_two().min(256 / ob).max(1);
        (rt, 1, ob)
    };
    let block = (rt * ob) as u32;
    let shared = match (mode, rt) {
        (0, _) => block / 32 * STATE_BYTES,
        (_, 1) => 0,
        _ => block * STATE_BYTES,
    };
    Plan {
        rt: rt as u32,
        mode,
        block,
        grid: grid_1d(outs, ob),
        shared,
    }
}

/// Record an axis kernel: `args` then the plan's `rt` and `mode`.
pub(crate) fn launch_axes(
    cx: &mut LaunchCx,
    src: usize,
    mut args: Vec<Arg>,
    outs: usize,
    red: usize,
    contiguous: bool,
) {
    let p = plan(outs, red, contiguous);
    args.push(Arg::I32(p.rt as i32));
    args.push(Arg::I32(p.mode));
    cx.kernel(src, args, [p.grid, 1, 1], [p.block, 1, 1], p.shared);
}

/// An axis-kernel source: the prelude for `aliases`, `defines`, the shared machinery, `body`.
pub(crate) fn axes_source(
    name: &str,
    entry: &str,
    aliases: &[(&str, DType)],
    defines: &[(&str, i64)],
    body: &str,
) -> Result<CudaSource, String> {
    let mut text = String::new();
    for (k, v) in defines {
        text.push_str(&format!("#define {k} {v}\n"));
    }
    text.push_str(AXES_CU);
    text.push_str(body);
    source(name, entry, aliases, &text)
}

/// The accumulator of sums and products of `dt`: double for floats, wrapping i64 for integers.
pub(crate) fn acc_dtype(dt: DType) -> DType {
    if dt.is_float() {
        DType::F64
    } else {
        DType::I64
    }
}

fn invalid(op: &str, msg: impl Into<String>) -> DeviceError {
    DeviceError::Kernel(suanli_kernels::KernelError::invalid(op, msg.into()))
}

/// A Reduce* or ArgMax/ArgMin node.
struct AxisReduce {
    op: ReduceOp,
    src: CudaSource,
}

impl AxisReduce {
    /// The reduced axes (sorted, unique) and keepdims.
    fn axes(&self, cx: &LaunchCx, rank: usize) -> Result<(Vec<usize>, bool)> {
        let name = self.op.name();
        match &self.op {
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
                let mut red = axes
                    .iter()
                    .map(|&a| norm_axis(name, a, rank))
                    .collect::<Result<Vec<_>, _>>()?;
                if axes.is_empty() && !noop_with_empty_axes {
                    red = (0..rank).collect();
                } else if rank == 0 {
                    red.clear();
                }
                red.sort_unstable();
                red.dedup();
                Ok((red, *keepdims))
            }
            ReduceOp::Arg { axis, keepdims, .. } => {
                if rank == 0 {
                    return Err(invalid(name, "input must have rank >= 1"));
                }
                Ok((vec![norm_axis(name, *axis, rank)?], *keepdims))
            }
            _ => Err(invalid(name, "internal: not an axis reduction")),
        }
    }
}

impl CudaOp for AxisReduce {
    fn sources(&self) -> Vec<CudaSource> {
        vec![self.src.clone()]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let name = self.op.name();
        let shape = cx.shape(0)?.to_vec();
        let dt = cx.dtype(0)?;
        let (red_axes, keep) = self.axes(cx, shape.len())?;
        let mut is_red = vec![false; shape.len()];
        red_axes.iter().for_each(|&a| is_red[a] = true);
        let out_shape: Vec<usize> = (0..shape.len())
            .filter_map(|i| match (is_red[i], keep) {
                (false, _) => Some(shape[i]),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect();
        let lay = AxesLayout::new(&shape, &is_red);
        let is_arg = matches!(self.op, ReduceOp::Arg { .. });
        if lay.reduced() == 0 && lay.outputs() > 0 {
            if is_arg {
                return Err(invalid(name, "cannot take the arg-extreme of an empty axis"));
            }
            // Nothing to reduce: the value is a constant the CPU kernel knows.
            let empty = Tensor::zeros(dt, shape.clone());
            let axes = if cx.has(1) { Some(cx.value(1)?) } else { None };
            let out = self.op.run(&[Some(&empty), axes.as_ref()])?;
            let t = out.into_iter().next().ok_or_else(|| invalid(name, "no output"))?;
            cx.host_output(t);
            return Ok(());
        }
        let words = axes_words(&lay, name)?;
        let y = cx.output(if is_arg { DType::I64 } else { dt }, out_shape);
        let args = vec![Arg::Words(words), Arg::Ptr(Buf::In(0)), Arg::Ptr(y)];
        launch_axes(cx, 0, args, lay.outputs(), lay.reduced(), lay.contiguous());
        Ok(())
    }
}

/// The `[outer, n, inner]` view of a softmax-family lane (`coerce_2d`: flatten at `axis`).
pub(crate) fn lane_dims(op: &str, shape: &[usize], axis: i64, coerce_2d: bool) -> Result<[usize; 3]> {
    let a = norm_axis(op, axis, shape.len().max(1))?;
    Ok(if shape.is_empty() {
        [1, 1, 1]
    } else if coerce_2d {
        [shape[..a].iter().product(), shape[a..].iter().product(), 1]
    } else {
        [shape[..a].iter().product(), shape[a], shape[a + 1..].iter().product()]
    })
}

/// Softmax / LogSoftmax / Hardmax (and, from the norm family, LpNormalization) along a lane.
pub(crate) struct Lane {
    pub name: &'static str,
    pub axis: i64,
    pub coerce_2d: bool,
    pub src: CudaSource,
}

/// The lane kernel of `kind` (0 softmax, 1 log-softmax, 2 hardmax, 3 L1, 4 L2) for `dt`.
pub(crate) fn lane_source(kind: i64, dt: DType) -> Result<CudaSource, String> {
    axes_source(
        &format!("lane{kind}_{dt}"),
        "suanli_lane",
        &[("T", dt)],
        &[("SUANLI_LANE", kind)],
        LANE_CU,
    )
}

impl CudaOp for Lane {
    fn sources(&self) -> Vec<CudaSource> {
        vec![self.src.clone()]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let shape = cx.shape(0)?.to_vec();
        let dims = lane_dims(self.name, &shape, self.axis, self.coerce_2d)?;
        let y = cx.output(cx.dtype(0)?, shape);
        if dims.iter().product::<usize>() == 0 {
            return Ok(());
        }
        let lay = AxesLayout::new(&dims, &[false, true, false]);
        let args = vec![
            Arg::Words(axes_words(&lay, self.name)?),
            Arg::Ptr(Buf::In(0)),
            Arg::Ptr(y),
        ];
        launch_axes(cx, 0, args, lay.outputs(), lay.reduced(), lay.contiguous());
        Ok(())
    }
}

/// CumSum / CumProd.
struct Scan {
    name: &'static str,
    src: CudaSource,
}

/// Scan lanes from which one block (rather than one thread) scans a lane.
fn scan_block(lanes: usize, n: usize) -> Option<u32> {
    (n >= 256 && lanes <= 2048).then(|| n.next_power_of_two().clamp(32, 1024) as u32)
}

impl CudaOp for Scan {
    fn sources(&self) -> Vec<CudaSource> {
        vec![self.src.clone()]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let shape = cx.shape(0)?.to_vec();
        let av = cx.value(1)?;
        if av.len() != 1 {
            return Err(invalid(
                self.name,
                format!("axis must hold one value, found shape {:?}", av.shape()),
            ));
        }
        if shape.is_empty() {
            return Err(invalid(self.name, "input must have rank >= 1"));
        }
        let a = norm_axis(self.name, av.to_i64_vec()?[0], shape.len())?;
        let (outer, n, inner) = (
            shape[..a].iter().product::<usize>(),
            shape[a],
            shape[a + 1..].iter().product::<usize>(),
        );
        let y = cx.output(cx.dtype(0)?, shape);
        let lanes = outer * inner;
        if lanes * n == 0 {
            return Ok(());
        }
        let mut args = vec![
            Arg::Ptr(Buf::In(0)),
            Arg::Ptr(y),
            Arg::I64(lanes as i64),
            Arg::I64(n as i64),
            Arg::I64(inner as i64),
        ];
        match scan_block(lanes, n) {
            Some(block) => {
                args.push(Arg::I32(1));
                cx.kernel(0, args, [grid_1d(lanes, 1), 1, 1], [block, 1, 1], 0);
            }
            None => {
                args.push(Arg::I32(0));
                cx.kernel_1d(0, args, lanes);
            }
        }
        Ok(())
    }
}

fn reduce_code(kind: ReduceKind) -> i64 {
    match kind {
        ReduceKind::Sum => 0,
        ReduceKind::Mean => 1,
        ReduceKind::Max => 2,
        ReduceKind::Min => 3,
        ReduceKind::Prod => 4,
        ReduceKind::L1 => 5,
        ReduceKind::L2 => 6,
        ReduceKind::LogSum => 7,
        ReduceKind::LogSumExp => 8,
        ReduceKind::SumSquare => 9,
    }
}

/// Lower a reduce spec, or say why the CUDA device cannot run it.
pub fn lower(op: &ReduceOp, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
    let dt = spec
        .inputs
        .first()
        .and_then(|t| t.as_ref())
        .map(|t| t.dtype)
        .ok_or("input 0 is missing")?;
    let name = op.name();
    let unsupported = || format!("{name} on {dt} has no CUDA kernel");
    let int = i64::from(dt.is_int());
    match op {
        ReduceOp::Reduce { kind, .. } => {
            let ok = dt.is_numeric() || (dt == DType::Bool && matches!(kind, ReduceKind::Max | ReduceKind::Min));
            if !ok {
                return Err(unsupported());
            }
            let code = reduce_code(*kind);
            let src = axes_source(
                &format!("reduce{code}_{dt}"),
                "suanli_reduce",
                &[("T", dt), ("A", acc_dtype(dt))],
                &[("SUANLI_KIND", code), ("SUANLI_T_INT", int)],
                REDUCE_CU,
            )?;
            Ok(Box::new(AxisReduce { op: op.clone(), src }))
        }
        ReduceOp::Arg {
            kind,
            select_last_index,
            ..
        } => {
            if !(dt.is_numeric() || dt == DType::Bool) {
                return Err(unsupported());
            }
            let max = i64::from(*kind == ArgKind::Max);
            let last = i64::from(*select_last_index);
            let src = axes_source(
                &format!("arg{max}{last}_{dt}"),
                "suanli_arg",
                &[("T", dt)],
                &[("SUANLI_ARG_MAX", max), ("SUANLI_ARG_LAST", last)],
                ARG_CU,
            )?;
            Ok(Box::new(AxisReduce { op: op.clone(), src }))
        }
        ReduceOp::Softmax { kind, axis, coerce_2d } => {
            let (code, ok) = match kind {
                SoftmaxKind::Softmax => (0, dt.is_float()),
                SoftmaxKind::LogSoftmax => (1, dt.is_float()),
                SoftmaxKind::Hardmax => (2, dt.is_numeric()),
            };
            if !ok {
                return Err(unsupported());
            }
            Ok(Box::new(Lane {
                name,
                axis: *axis,
                coerce_2d: *coerce_2d,
                src: lane_source(code, dt)?,
            }))
        }
        ReduceOp::Scan {
            kind,
            exclusive,
            reverse,
        } => {
            if !dt.is_numeric() {
                return Err(unsupported());
            }
            if !spec.inputs.get(1).is_some_and(|a| a.is_some()) {
                return Err(format!("{name} needs its axis input"));
            }
            let prod = i64::from(*kind == ScanKind::Prod);
            let (ex, rev) = (i64::from(*exclusive), i64::from(*reverse));
            let mut text = String::new();
            for (k, v) in [("SUANLI_PROD", prod), ("SUANLI_EXCLUSIVE", ex), ("SUANLI_REVERSE", rev)] {
                text.push_str(&format!("#define {k} {v}\n"));
            }
            text.push_str(SCAN_CU);
            let src = source(
                &format!("scan{prod}{ex}{rev}_{dt}"),
                "suanli_scan",
                &[("T", dt), ("A", acc_dtype(dt))],
                &text,
            )?;
            Ok(Box::new(Scan { name, src }))
        }
        _ => Err(format!("no CUDA kernel for {name}")),
    }
}

#[cfg(test)]
#[path = "reduce_tests.rs"]
pub(crate) mod tests;
