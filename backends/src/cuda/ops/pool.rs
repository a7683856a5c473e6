//! CUDA kernels for the pool family: MaxPool (with the optional Indices output), AveragePool,
//! LpPool over 1-3 spatial dims (`shaders/pool_window.cu`, one thread per output) and the
//! global pools (`shaders/pool_global.cu`, one block per plane).

use super::{source, CudaOp, CudaSource};
use crate::cuda::launch::{grid_1d, Arg, Buf, LaunchCx};
use crate::device::{DeviceError, Result};
use suanli_kernels::ops::conv::Window;
use suanli_kernels::ops::PoolOp;
use suanli_kernels::{DType, KernelError, KernelSpec, OpImpl};

const WINDOW_CU: &str = include_str!("../../../../shaders/pool_window.cu");
const GLOBAL_CU: &str = include_str!("../../../../shaders/pool_global.cu");

/// Words of `SuanliPoolParams`.
const POOL_WORDS: usize = 3 + 7 * 3;
/// Threads per block of the global pool (its shared array's length).
const GLOBAL_THREADS: u32 = 256;

/// What a pool computes (the sources' `KIND`).
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
}

fn err(op: &'static str, msg: String) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(op, msg))
}

impl CudaOp for Pool {
    fn sources(&self) -> Vec<CudaSource> {
        let (entry, body) = if self.window.is_some() {
            ("suanli_pool", WINDOW_CU)
        } else {
            ("suanli_global_pool", GLOBAL_CU)
        };
        let name = format!("pool_{}_k{}_{}", self.name, self.kind.code(), self.dt);
        let text = format!("#define KIND {}\n{body}", self.kind.code());
        source(&name, entry, &[("T", self.dt)], &text).into_iter().collect()
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
            let out = cx.output(dt, shape);
            let args = vec![
                Arg::Ptr(Buf::In(0)),
                Arg::Ptr(out),
                Arg::I64(planes as i64),
                Arg::I64(sz as i64),
                Arg::F32(self.kind.p()),
            ];
            let grid = grid_1d(planes, 1);
            cx.kernel(0, args, [grid, 1, 1], [GLOBAL_THREADS, 1, 1], 0);
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
        let out = cx.output(dt, shape.clone());
        let idx = if self.indices {
            cx.output(DType::I64, shape)
        } else {
            out
        };
        let mut w = vec![total as i64, self.col_major as i64, self.indices as i64];
        for a in [&g.inp, &g.out, &g.k, &g.s, &g.d] {
            w.extend(a.iter().map(|&v| v as i64));
        }
        for a in [&g.pb, &g.pe] {
            w.extend(a.iter().map(|&v| v as i64));
        }
        debug_assert_eq!(w.len(), POOL_WORDS);
        let args = vec![
            Arg::Words(w),
            Arg::Ptr(Buf::In(0)),
            Arg::Ptr(out),
            Arg::Ptr(idx),
            Arg::F32(self.kind.p()),
        ];
        cx.kernel_1d(0, args, total);
        Ok(())
    }
}

/// Lower a pool spec, or say why the CUDA device cannot run it.
pub fn lower(op: &PoolOp, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
    let x = spec.inputs.first().and_then(|x| x.as_ref()).ok_or("X is required")?;
    let dt = x.dtype;
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
        PoolOp::MaxUnpool { .. } => return Err("MaxUnpool has no CUDA kernel".into()),
    };
    // As the CPU: floats, and u8/i8 for the windowed max.
    let ints_ok = kind == Kind::Max && window.is_some();
    if !(dt.is_float() || ints_ok && matches!(dt, DType::I8 | DType::U8)) {
        return Err(format!("no CUDA {} for {dt}", op.name()));
    }
    if let Some(r) = x.rank() {
        if !(3..=5).contains(&r) {
            return Err(format!("{} over {} spatial dims", op.name(), r.saturating_sub(2)));
        }
    }
    Ok(Box::new(Pool {
        name: op.name(),
        window,
        kind,
        col_major,
        indices,
        dt,
    }))
}

#[cfg(test)]
mod tests {
    use crate::cuda::launch::Step;
    use crate::cuda::ops::testkit::{check, refused, rnd};
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
    fn maxpool_variants() {
        let x = || rnd(DType::F32, &[2, 3, 17, 19], 1);
        check(
            &max(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), false, false, false),
            vec![x()],
        );
        check(&max(win(&[3, 3], &[2, 2], &[], &[]), true, false, false), vec![x()]);
        check(
            &max(win(&[2, 3], &[1, 2], &[0, 1, 1, 0], &[2, 1]), false, false, false),
            vec![x()],
        );
        let rec = check(
            &max(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), true, false, true),
            vec![x()],
        );
        assert_eq!(rec.outputs.len(), 2);
        check(&max(win(&[2, 2], &[2, 2], &[], &[]), false, true, true), vec![x()]);
        for pad in [AutoPad::SameUpper, AutoPad::SameLower, AutoPad::Valid] {
            let mut w = win(&[3, 3], &[2, 2], &[], &[]);
            w.auto_pad = pad;
            check(&max(w, false, false, false), vec![x()]);
        }
        for dt in [DType::F16, DType::BF16, DType::F64, DType::U8, DType::I8] {
            check(
                &max(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), false, false, true),
                vec![rnd(dt, &[1, 4, 9, 9], 2)],
            );
        }
        check(
            &max(win(&[3], &[2], &[1, 1], &[]), false, false, false),
            vec![rnd(DType::F32, &[2, 3, 20], 2)],
        );
        check(
            &max(win(&[2, 2, 2], &[2, 1, 2], &[], &[]), true, false, true),
            vec![rnd(DType::F32, &[1, 2, 5, 6, 7], 2)],
        );
        // Windows entirely inside the padding.
        check(
            &max(win(&[2, 2], &[1, 1], &[3, 3, 3, 3], &[]), false, false, true),
            vec![rnd(DType::U8, &[1, 1, 2, 2], 2)],
        );
        let rec = check(
            &max(win(&[2, 2], &[1, 1], &[], &[]), false, false, false),
            vec![rnd(DType::F32, &[0, 3, 4, 4], 1)],
        );
        assert!(rec.steps.is_empty());
    }

    #[test]
    fn average_and_lp() {
        let x = || rnd(DType::F32, &[2, 3, 17, 19], 4);
        for include in [false, true] {
            check(
                &avg(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), false, include),
                vec![x()],
            );
            check(
                &avg(win(&[3, 3], &[2, 2], &[1, 0, 2, 1], &[]), true, include),
                vec![x()],
            );
            check(
                &avg(win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[2, 2]), false, include),
                vec![x()],
            );
        }
        for dt in [DType::F16, DType::BF16, DType::F64] {
            check(
                &avg(win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]), false, true),
                vec![rnd(dt, &[1, 3, 9, 9], 1)],
            );
        }
        check(
            &avg(win(&[2, 3, 2], &[1, 2, 2], &[1, 1, 1, 0, 0, 0], &[]), false, false),
            vec![rnd(DType::F32, &[1, 2, 4, 7, 6], 1)],
        );
        for (p, dt) in [(2.0, DType::F32), (3.0, DType::F64), (1.0, DType::F16)] {
            check(
                &Op::Pool(PoolOp::LpPool {
                    window: win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[]),
                    ceil_mode: false,
                    p,
                }),
                vec![rnd(dt, &[2, 3, 9, 11], 5)],
            );
        }
        refused(
            &avg(win(&[2, 2], &[1, 1], &[], &[]), false, false),
            &[rnd(DType::U8, &[1, 1, 4, 4], 1)],
        );
    }

    #[test]
    fn global_pools() {
        for op in [
            PoolOp::GlobalAveragePool,
            PoolOp::GlobalMaxPool,
            PoolOp::GlobalLpPool { p: 2.0 },
        ] {
            for dt in [DType::F32, DType::F16, DType::BF16, DType::F64] {
                let rec = check(&Op::Pool(op.clone()), vec![rnd(dt, &[2, 3, 9, 11], 5)]);
                let Step::Kernel(k) = &rec.steps[0] else {
                    panic!("a kernel")
                };
                assert_eq!((k.grid[0], k.block[0]), (6, 256));
            }
            check(&Op::Pool(op.clone()), vec![rnd(DType::F32, &[2, 2, 3, 4, 5], 6)]);
            check(&Op::Pool(op.clone()), vec![rnd(DType::F32, &[2, 5, 1000], 6)]);
            check(&Op::Pool(op.clone()), vec![rnd(DType::F32, &[0, 3, 4, 4], 6)]);
            refused(&Op::Pool(op), &[rnd(DType::U8, &[1, 1, 4, 4], 1)]);
        }
        // Many planes: the grid is capped and the kernel loops over planes.
        let rec = check(
            &Op::Pool(PoolOp::GlobalAveragePool),
            vec![rnd(DType::F32, &[70000, 1, 2], 6)],
        );
        let Step::Kernel(k) = &rec.steps[0] else {
            panic!("a kernel")
        };
        assert_eq!(k.grid[0], 65_536);
    }

    #[test]
    fn refusals_and_errors() {
        refused(
            &Op::Pool(PoolOp::MaxUnpool {
                window: win(&[2, 2], &[2, 2], &[], &[]),
            }),
            &[rnd(DType::F32, &[1, 1, 2, 2], 1), rnd(DType::I64, &[1, 1, 2, 2], 1)],
        );
        let op = max(win(&[1, 1, 1, 1], &[1, 1, 1, 1], &[], &[]), false, false, false);
        refused(&op, &[rnd(DType::F32, &[1, 1, 3, 3, 3, 3], 1)]);
    }
}
