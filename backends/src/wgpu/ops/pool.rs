//! WGSL kernels for the pool family: MaxPool (with the optional Indices output), AveragePool,
//! LpPool over 1-3 spatial dims (`shaders/pool_window.wgsl`, one invocation per output) and
//! the global pools (`shaders/pool_global.wgsl`, one workgroup per plane).

use super::{shader, Shader, Target, WgslOp};
use crate::device::{DeviceError, Result};
use crate::wgpu::launch::{Buf, LaunchCx};
use crate::wgpu::memory::Repr;
use suanli_kernels::ops::conv::Window;
use suanli_kernels::ops::PoolOp;
use suanli_kernels::{DType, KernelError, KernelSpec, OpImpl};

const WINDOW_WGSL: &str = include_str!("../../../../shaders/pool_window.wgsl");
const GLOBAL_WGSL: &str = include_str!("../../../../shaders/pool_global.wgsl");

const NEG_INF: u32 = 0xff80_0000;
const NAN: u32 = 0x7fc0_0000;

/// What a pool computes (the shaders' `KIND`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Max,
    Avg { include_pad: bool },
    Lp(f32),
}

impl Kind {
    fn code(self) -> u32 {
        match self {
            Kind::Max => 0,
            Kind::Avg { include_pad: false } => 1,
            Kind::Avg { include_pad: true } => 2,
            Kind::Lp(_) => 3,
        }
    }
    fn p(self) -> f32 {
        match self {
            Kind::Lp(p) => p,
            _ => 1.0,
        }
    }
}

/// A lowered pool: windowed when `window` is set, global otherwise.
struct Pool {
    name: &'static str,
    window: Option<(Window, bool)>,
    kind: Kind,
    col_major: bool,
    indices: bool,
    dt: DType,
    t: Repr,
    acc: Repr,
}

impl Pool {
    fn prelude(&self) -> String {
        let mut s = format!("const KIND: u32 = {}u;\n", self.kind.code());
        s.push_str(if matches!(self.kind, Kind::Lp(_)) {
            "fn lp_term(v: A) -> A { return pow(abs(v), A(bitcast<f32>(P[2]))); }
fn lp_root(s: A) -> A { return pow(s, A(1.0) / A(bitcast<f32>(P[2]))); }\n"
        } else {
            "fn lp_term(v: A) -> A { return v; }\nfn lp_root(s: A) -> A { return s; }\n"
        });
        if self.window.is_some() {
            s.push_str(if self.t.is_float() {
                "fn empty() -> T { return T(bitcast<f32>(P[3])); }\n"
            } else {
                "fn empty() -> T { return T(bitcast<i32>(P[3])); }\n"
            });
            s.push_str(if self.indices {
                "@group(0) @binding(3) var<storage, read_write> Idx: array<i64>;
fn record(o: u32, plane: u32, idx: u32) { Idx[o] = i64(plane) * i64(P[4] * P[5] * P[6]) + i64(idx); }\n"
            } else {
                "fn record(o: u32, plane: u32, idx: u32) {}\n"
            });
        }
        s
    }

    /// The value of an empty max window: -inf (floats) or the dtype's minimum.
    fn empty_bits(&self) -> u32 {
        match self.dt {
            DType::I8 => (-128i32) as u32,
            DType::U8 => 0,
            _ => NEG_INF,
        }
    }
}

fn err(op: &'static str, msg: String) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(op, msg))
}

impl WgslOp for Pool {
    fn shaders(&self) -> Vec<Shader> {
        let aliases = [("T", self.t), ("A", self.acc)];
        let body = if self.window.is_some() {
            WINDOW_WGSL
        } else {
            GLOBAL_WGSL
        };
        let name = format!(
            "pool_{}_{}{}",
            self.name,
            self.t.wgsl(),
            if self.indices { "_idx" } else { "" }
        );
        vec![shader(&name, &aliases, &format!("{}{body}", self.prelude()))]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let op = self.name;
        let xs = cx.shape(0)?.to_vec();
        if !(3..=5).contains(&xs.len()) {
            return Err(err(op, format!("input must be [N, C, 1-3 spatial dims], got {xs:?}")));
        }
        let planes = xs[0] * xs[1];
        let dt = cx.dtype(0)?;
        let Some((window, ceil_mode)) = &self.window else {
            let sz: usize = xs[2..].iter().product();
            let mut shape = xs[..2].to_vec();
            shape.extend(std::iter::repeat_n(1, xs.len() - 2));
            let out = cx.output(dt, shape)?;
            if planes * sz > u32::MAX as usize {
                return Err(err(op, "the input exceeds the device's 32-bit indexing".into()));
            }
            let p = vec![planes as u32, sz as u32, self.kind.p().to_bits(), NEG_INF];
            let max = cx.max_workgroups() as usize;
            let gx = planes.clamp(1, max);
            cx.dispatch(0, p, &[Buf::In(0), out], [gx as u32, planes.div_ceil(gx) as u32, 1]);
            return Ok(());
        };
        let kernel = window
            .kernel_shape
            .as_ref()
            .ok_or_else(|| err(op, "kernel_shape is required".into()))?;
        let g = window
            .resolve(op, &xs[2..], kernel, *ceil_mode)
            .map_err(DeviceError::Kernel)?;
        let mut shape = xs[..2].to_vec();
        shape.extend(g.out_dims());
        let total = planes * g.out_size();
        if total.max(planes * g.in_size()) > u32::MAX as usize {
            return Err(err(op, "the input exceeds the device's 32-bit indexing".into()));
        }
        let out = cx.output(dt, shape.clone())?;
        let mut bufs = vec![Buf::In(0), out];
        if self.indices {
            bufs.push(cx.output(DType::I64, shape)?);
        }
        let empty = if self.kind == Kind::Max { self.empty_bits() } else { NAN };
        let mut p = vec![total as u32, self.col_major as u32, self.kind.p().to_bits(), empty];
        for a in [&g.inp, &g.out, &g.k, &g.s, &g.d] {
            p.extend(a.iter().map(|&v| v as u32));
        }
        for a in [&g.pb, &g.pe] {
            p.extend(a.iter().map(|&v| (v as i32) as u32));
        }
        cx.dispatch_1d(0, p, &bufs, total);
        Ok(())
    }
}

/// Lower a pool spec, or say why the wgpu device cannot run it.
pub fn lower(op: &PoolOp, spec: &KernelSpec, t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let x = spec.inputs.first().and_then(|x| x.as_ref()).ok_or("X is required")?;
    let dt = x.dtype;
    let repr = t.repr(dt)?;
    let (window, kind, col_major, indices) = match op {
        PoolOp::MaxPool {
            window,
            ceil_mode,
            col_major,
            with_indices,
        } => (Some((window.clone(), *ceil_mode)), Kind::Max, *col_major, *with_indices),
        PoolOp::AveragePool {
            window,
            ceil_mode,
            count_include_pad,
        } => (
            Some((window.clone(), *ceil_mode)),
            Kind::Avg {
                include_pad: *count_include_pad,
            },
            false,
            false,
        ),
        PoolOp::LpPool { window, ceil_mode, p } => (Some((window.clone(), *ceil_mode)), Kind::Lp(*p), false, false),
        PoolOp::GlobalAveragePool => (None, Kind::Avg { include_pad: false }, false, false),
        PoolOp::GlobalMaxPool => (None, Kind::Max, false, false),
        PoolOp::GlobalLpPool { p } => (None, Kind::Lp(*p), false, false),
        PoolOp::MaxUnpool { .. } => return Err("MaxUnpool has no WGSL kernel".into()),
    };
    let ints_ok = kind == Kind::Max && window.is_some();
    if !(dt.is_float() || ints_ok && matches!(dt, DType::I8 | DType::U8)) {
        return Err(format!("no WGSL {} for {dt}", op.name()));
    }
    if matches!(kind, Kind::Lp(_)) && repr == Repr::F64 {
        return Err("LpPool on f64 needs pow, which Vulkan lacks for f64".into());
    }
    if indices && !t.caps.int64 {
        return Err("MaxPool's Indices output needs shader-int64".into());
    }
    if let Some(r) = x.rank() {
        if !(3..=5).contains(&r) {
            return Err(format!("{} over {} spatial dims", op.name(), r.saturating_sub(2)));
        }
    }
    let acc = match repr {
        Repr::F64 => Repr::F64,
        _ => Repr::F32,
    };
    Ok(Box::new(Pool {
        name: op.name(),
        window,
        kind,
        col_major,
        indices,
        dt,
        t: repr,
        acc,
    }))
}

#[cfg(test)]
mod tests {
    use crate::wgpu::tests::{check, check_tol, rnd};
    use suanli_kernels::ops::conv::{AutoPad, Window};
    use suanli_kernels::ops::PoolOp;
    use suanli_kernels::{DType, Op};

    fn win(k: &[usize], s: &[usize], pads: &[usize], d: &[usize]) -> Window {
        Window {
            kernel_shape: Some(k.to_vec()),
            strides: s.to_vec(),
            dilations: d.to_vec(),
            pads: pads.to_vec(),
            auto_pad: AutoPad::NotSet,
        }
    }

    fn max(w: Window, ceil_mode: bool, col_major: bool, with_indices: bool) -> Op {
        Op::Pool(PoolOp::MaxPool {
            window: w,
            ceil_mode,
            col_major,
            with_indices,
        })
    }

    fn avg(w: Window, ceil_mode: bool, count_include_pad: bool) -> Op {
        Op::Pool(PoolOp::AveragePool {
            window: w,
            ceil_mode,
            count_include_pad,
        })
    }

    #[test]
    fn maxpool_2d_variants() {
        let x = || rnd(DType::F32, &[2, 3, 17, 19], 1);
        check(
            max(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), false, false, false),
            vec![x()],
        );
        check(max(win(&[3, 3], &[2, 2], &[], &[]), true, false, false), vec![x()]);
        check(
            max(win(&[2, 3], &[1, 2], &[0, 1, 1, 0], &[2, 1]), false, false, false),
            vec![x()],
        );
        check(
            max(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), true, false, true),
            vec![x()],
        );
        check(max(win(&[2, 2], &[2, 2], &[], &[]), false, true, true), vec![x()]);
        let mut same = win(&[3, 3], &[2, 2], &[], &[]);
        same.auto_pad = AutoPad::SameUpper;
        check(max(same.clone(), false, false, false), vec![x()]);
        same.auto_pad = AutoPad::SameLower;
        check(max(same, false, false, false), vec![x()]);
    }

    #[test]
    fn maxpool_ranks_and_dtypes() {
        check(
            max(win(&[3], &[2], &[1, 1], &[]), false, false, false),
            vec![rnd(DType::F32, &[2, 3, 20], 2)],
        );
        check(
            max(win(&[2, 2, 2], &[2, 1, 2], &[], &[]), true, false, true),
            vec![rnd(DType::F32, &[1, 2, 5, 6, 7], 2)],
        );
        check(
            max(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), false, false, false),
            vec![rnd(DType::F16, &[1, 4, 9, 9], 2)],
        );
        check(
            max(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), false, false, false),
            vec![rnd(DType::F64, &[1, 4, 9, 9], 2)],
        );
        check(
            max(win(&[2, 2], &[1, 1], &[], &[]), false, false, false),
            vec![rnd(DType::U8, &[1, 4, 9, 9], 2)],
        );
        check(
            max(win(&[2, 2], &[1, 1], &[], &[]), false, false, false),
            vec![rnd(DType::I8, &[1, 4, 9, 9], 2)],
        );
    }

    #[test]
    fn maxpool_large_grid() {
        // More than 65535 workgroups of 256.
        check(
            max(win(&[1, 1], &[1, 1], &[], &[]), false, false, false),
            vec![rnd(DType::F32, &[1, 1, 4200, 4100], 3)],
        );
    }

    #[test]
    fn averagepool_variants() {
        let x = || rnd(DType::F32, &[2, 3, 17, 19], 4);
        for include in [false, true] {
            check(
                avg(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), false, include),
                vec![x()],
            );
            check(avg(win(&[3, 3], &[2, 2], &[1, 0, 2, 1], &[]), true, include), vec![x()]);
            check(avg(win(&[2, 4], &[3, 1], &[], &[]), true, include), vec![x()]);
            check(
                avg(win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[2, 2]), false, include),
                vec![x()],
            );
        }
        check(
            avg(win(&[4], &[2], &[2, 2], &[]), false, true),
            vec![rnd(DType::F32, &[2, 3, 11], 1)],
        );
        check(
            avg(win(&[2, 3, 2], &[1, 2, 2], &[1, 1, 1, 0, 0, 0], &[]), false, false),
            vec![rnd(DType::F32, &[1, 2, 4, 7, 6], 1)],
        );
        check_tol(
            avg(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), false, true),
            vec![rnd(DType::F16, &[1, 3, 9, 9], 1)],
            1e-2,
            1e-2,
        );
        check(
            avg(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), false, false),
            vec![rnd(DType::F64, &[1, 3, 9, 9], 1)],
        );
    }

    #[test]
    fn lp_and_global() {
        let x = || rnd(DType::F32, &[2, 3, 9, 11], 5);
        check_tol(
            Op::Pool(PoolOp::LpPool {
                window: win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]),
                ceil_mode: false,
                p: 2.0,
            }),
            vec![x()],
            1e-4,
            1e-4,
        );
        check_tol(
            Op::Pool(PoolOp::LpPool {
                window: win(&[2, 2], &[1, 1], &[], &[]),
                ceil_mode: false,
                p: 3.0,
            }),
            vec![x()],
            1e-4,
            1e-4,
        );
        check(Op::Pool(PoolOp::GlobalAveragePool), vec![x()]);
        check(Op::Pool(PoolOp::GlobalMaxPool), vec![x()]);
        check_tol(Op::Pool(PoolOp::GlobalLpPool { p: 2.0 }), vec![x()], 1e-4, 1e-4);
        check(
            Op::Pool(PoolOp::GlobalAveragePool),
            vec![rnd(DType::F32, &[1, 2048, 7, 7], 6)],
        );
        check(
            Op::Pool(PoolOp::GlobalAveragePool),
            vec![rnd(DType::F32, &[1, 3, 300, 301], 6)],
        );
        check(Op::Pool(PoolOp::GlobalMaxPool), vec![rnd(DType::F32, &[2, 5, 1000], 6)]);
        check(
            Op::Pool(PoolOp::GlobalMaxPool),
            vec![rnd(DType::F32, &[2, 2, 3, 4, 5], 6)],
        );
        check(
            Op::Pool(PoolOp::GlobalAveragePool),
            vec![rnd(DType::F64, &[2, 5, 10], 6)],
        );
        check_tol(
            Op::Pool(PoolOp::GlobalAveragePool),
            vec![rnd(DType::F16, &[2, 5, 10], 6)],
            1e-2,
            1e-2,
        );
        check(
            Op::Pool(PoolOp::GlobalAveragePool),
            vec![rnd(DType::F32, &[70000, 1, 2], 6)],
        );
    }

    #[test]
    fn empty_inputs() {
        check(
            Op::Pool(PoolOp::GlobalAveragePool),
            vec![rnd(DType::F32, &[0, 3, 4, 4], 1)],
        );
        check(
            max(win(&[2, 2], &[1, 1], &[], &[]), false, false, false),
            vec![rnd(DType::F32, &[0, 3, 4, 4], 1)],
        );
    }
}
