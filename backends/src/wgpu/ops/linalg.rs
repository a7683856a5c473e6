//! WGSL kernels for the linalg family: MatMul and Gemm through one tiled matmul shader
//! (`shaders/matmul.wgsl`). Transposes, 1-D promotion and batch broadcasting are strides.

use super::{shader, Shader, Target, WgslOp};
use crate::device::{DeviceError, Result};
use crate::wgpu::launch::{Buf, LaunchCx};
use crate::wgpu::memory::Repr;
use suanli_kernels::ops::linalg::matmul::{gemm_dims, plan_matmul};
use suanli_kernels::ops::linalg::GemmArgs;
use suanli_kernels::ops::LinalgOp;
use suanli_kernels::{DType, KernelError, KernelSpec};

const MATMUL_WGSL: &str = include_str!("../../../../shaders/matmul.wgsl");
/// The tile step shared by the GEMM shaders.
pub(super) const GEMM_TILE_WGSL: &str = include_str!("../../../../shaders/gemm_tile.wgsl");

/// Output tile edge of the matmul shader (rows and columns per workgroup).
pub const TILE: usize = 64;

/// Fixed params before the batch triples (see `shaders/matmul.wgsl`).
const HEAD: usize = 13;

/// The accumulator representation for a storage representation, if the tiled shader takes it.
pub fn acc_repr(r: Repr) -> Option<Repr> {
    match r {
        Repr::F32 | Repr::F16 => Some(Repr::F32),
        Repr::F64 => Some(Repr::F64),
        Repr::I32 => Some(Repr::I32),
        Repr::I64 => Some(Repr::I64),
        _ => None,
    }
}

/// How the matmul shader finishes each output element.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Epilogue {
    /// `C = A·B`.
    Plain,
    /// `C = alpha·A·B`.
    Scale,
    /// `C = alpha·A·B + beta·Bias` with the bias read through strides (binding 4).
    ScaleBias,
}

/// The matmul shader for storage `t`, accumulator `acc` and an epilogue.
fn matmul_shader(t: Repr, acc: Repr, epi: Epilogue) -> Shader {
    let epilogue = match epi {
        Epilogue::Plain => "fn epilogue(acc: A, row: u32, col: u32) -> A { return acc; }\n".to_string(),
        Epilogue::Scale => {
            "fn epilogue(acc: A, row: u32, col: u32) -> A { return A(bitcast<f32>(P[9])) * acc; }\n".into()
        }
        Epilogue::ScaleBias => "@group(0) @binding(4) var<storage, read> Bias: array<T>;
fn epilogue(acc: A, row: u32, col: u32) -> A {
    return A(bitcast<f32>(P[9])) * acc + A(bitcast<f32>(P[10])) * A(Bias[row * P[7] + col * P[8]]);
}\n"
        .into(),
    };
    shader(
        &format!("matmul_{}_{epi:?}", t.wgsl()),
        &[("T", t), ("A", acc)],
        &format!("{epilogue}{GEMM_TILE_WGSL}{MATMUL_WGSL}"),
    )
}

/// One strided batched product for the matmul shader.
#[derive(Clone, Debug, Default)]
pub struct MatmulCall {
    /// Rows of each product.
    pub m: usize,
    /// Columns of each product.
    pub n: usize,
    /// Contracted extent.
    pub k: usize,
    /// A's (row, column) strides.
    pub a_st: (usize, usize),
    /// B's (row, column) strides.
    pub b_st: (usize, usize),
    /// Bias (row, column) strides (0 where broadcast).
    pub c_st: (usize, usize),
    /// alpha and beta.
    pub alpha_beta: (f32, f32),
    /// Batch dims: (extent, A stride, B stride), outermost first.
    pub batch: Vec<(usize, usize, usize)>,
}

fn too_big(op: &'static str, what: &str) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(
        op,
        format!("{what} exceeds the device's 32-bit indexing"),
    ))
}

/// Record the dispatches of `call` with shader `sh` on buffers `[A, B, C(, bias)]`.
pub fn dispatch_matmul(cx: &mut LaunchCx, op: &'static str, sh: usize, call: &MatmulCall, bufs: &[Buf]) -> Result<()> {
    let nb: usize = call.batch.iter().map(|b| b.0).product();
    if nb.checked_mul(call.m * call.n).is_none_or(|t| t > u32::MAX as usize) {
        return Err(too_big(op, "the output"));
    }
    let u = |v: usize| -> Result<u32> { u32::try_from(v).map_err(|_| too_big(op, "an operand")) };
    let mut params = vec![
        u(call.m)?,
        u(call.n)?,
        u(call.k)?,
        u(call.a_st.0)?,
        u(call.a_st.1)?,
        u(call.b_st.0)?,
        u(call.b_st.1)?,
        u(call.c_st.0)?,
        u(call.c_st.1)?,
        call.alpha_beta.0.to_bits(),
        call.alpha_beta.1.to_bits(),
        0,
        call.batch.len() as u32,
    ];
    debug_assert_eq!(params.len(), HEAD);
    for &(e, sa, sb) in &call.batch {
        params.extend([u(e)?, u(sa)?, u(sb)?]);
    }
    let gx = call.n.div_ceil(TILE);
    let gy = call.m.div_ceil(TILE);
    let max = cx.max_workgroups() as usize;
    if gx > max || gy > max {
        return Err(DeviceError::Unsupported {
            kernel: op.into(),
            reason: format!(
                "a {}x{} product needs more workgroups than the adapter allows",
                call.m, call.n
            ),
        });
    }
    let mut base = 0;
    while base < nb {
        let z = (nb - base).min(max);
        params[11] = base as u32;
        cx.dispatch(sh, params.clone(), bufs, [gx as u32, gy as u32, z as u32]);
        base += z;
    }
    Ok(())
}

/// A lowered MatMul or Gemm.
struct Lowered {
    t: Repr,
    acc: Repr,
    gemm: Option<(GemmArgs, bool)>,
}

impl Lowered {
    fn epilogue(&self) -> Epilogue {
        match self.gemm {
            None => Epilogue::Plain,
            Some((_, true)) => Epilogue::ScaleBias,
            Some((_, false)) => Epilogue::Scale,
        }
    }

    fn launch_matmul(&self, cx: &mut LaunchCx) -> Result<()> {
        const OP: &str = "MatMul";
        let (sa, sb) = (cx.shape(0)?.to_vec(), cx.shape(1)?.to_vec());
        let p = plan_matmul(OP, &sa, &sb).map_err(DeviceError::Kernel)?;
        let dt = cx.dtype(0)?;
        let out = cx.output(dt, p.out_shape.clone())?;
        let call = MatmulCall {
            m: p.m,
            n: p.n,
            k: p.k,
            a_st: (p.k, 1),
            b_st: (p.n, 1),
            alpha_beta: (1.0, 0.0),
            batch: (0..p.batch.len())
                .map(|d| (p.batch[d], p.a_bstr[d], p.b_bstr[d]))
                .collect(),
            ..Default::default()
        };
        dispatch_matmul(cx, OP, 0, &call, &[Buf::In(0), Buf::In(1), out])
    }

    fn launch_gemm(&self, g: &GemmArgs, with_c: bool, cx: &mut LaunchCx) -> Result<()> {
        const OP: &str = "Gemm";
        let (sa, sb) = (cx.shape(0)?.to_vec(), cx.shape(1)?.to_vec());
        let (m, k, n) = gemm_dims(OP, &sa, &sb, g).map_err(DeviceError::Kernel)?;
        let mut c_st = (0, 0);
        if with_c {
            let cs = cx.shape(2)?.to_vec();
            if cs.len() > 2 {
                return Err(DeviceError::Kernel(KernelError::invalid(
                    OP,
                    format!("C must have rank <= 2, got {cs:?}"),
                )));
            }
            let mut c2 = vec![1; 2 - cs.len()];
            c2.extend(&cs);
            if (c2[0] != 1 && c2[0] != m) || (c2[1] != 1 && c2[1] != n) {
                return Err(DeviceError::Kernel(KernelError::invalid(
                    OP,
                    format!("C of shape {cs:?} does not broadcast to [{m}, {n}]"),
                )));
            }
            c_st = (if c2[0] == 1 { 0 } else { c2[1] }, if c2[1] == 1 { 0 } else { 1 });
        }
        let dt = cx.dtype(0)?;
        let out = cx.output(dt, vec![m, n])?;
        let call = MatmulCall {
            m,
            n,
            k,
            a_st: if g.trans_a { (1, m) } else { (k, 1) },
            b_st: if g.trans_b { (1, k) } else { (n, 1) },
            c_st,
            alpha_beta: (g.alpha, g.beta),
            batch: Vec::new(),
        };
        let mut bufs = vec![Buf::In(0), Buf::In(1), out];
        if with_c {
            bufs.push(Buf::In(2));
        }
        dispatch_matmul(cx, OP, 0, &call, &bufs)
    }
}

impl WgslOp for Lowered {
    fn shaders(&self) -> Vec<Shader> {
        vec![matmul_shader(self.t, self.acc, self.epilogue())]
    }
    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        match &self.gemm {
            None => self.launch_matmul(cx),
            Some((g, with_c)) => self.launch_gemm(g, *with_c, cx),
        }
    }
}

/// Lower a linalg spec, or say why the wgpu device cannot run it.
pub fn lower(op: &LinalgOp, spec: &KernelSpec, t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let ty = |i: usize| spec.inputs.get(i).and_then(|x| x.as_ref());
    let (Some(a), Some(b)) = (ty(0), ty(1)) else {
        return Err("A and B are required".into());
    };
    if a.dtype != b.dtype {
        return Err(format!("A and B dtypes differ ({} and {})", a.dtype, b.dtype));
    }
    let dt = a.dtype;
    let repr = t.repr(dt)?;
    match op {
        LinalgOp::MatMul => {
            // i8/i16/u8.. are widened on the device and would need the CPU's narrowing rules.
            if !(dt.is_float() || matches!(dt, DType::I32 | DType::I64)) {
                return Err(format!("no WGSL MatMul for {dt}"));
            }
            let acc = acc_repr(repr).ok_or_else(|| format!("no WGSL MatMul for {dt}"))?;
            Ok(Box::new(Lowered {
                t: repr,
                acc,
                gemm: None,
            }))
        }
        LinalgOp::Gemm(g) => {
            if !dt.is_float() {
                return Err(format!("no WGSL Gemm for {dt} (float only)"));
            }
            let acc = acc_repr(repr).ok_or_else(|| format!("no WGSL Gemm for {dt}"))?;
            if let Some(c) = ty(2) {
                if c.dtype != dt {
                    return Err(format!("C has dtype {}, A has {dt}", c.dtype));
                }
            }
            let with_c = ty(2).is_some() && g.beta != 0.0;
            Ok(Box::new(Lowered {
                t: repr,
                acc,
                gemm: Some((*g, with_c)),
            }))
        }
        LinalgOp::MatMulInteger => Err("MatMulInteger has no WGSL kernel (zero points not implemented)".into()),
        LinalgOp::Einsum(_) => Err("Einsum has no WGSL kernel".into()),
        LinalgOp::Det => Err("Det has no WGSL kernel (LU decomposition is host work)".into()),
    }
}

#[cfg(test)]
mod tests {
    use crate::wgpu::tests::{check, check_tol, rnd};
    use suanli_kernels::ops::linalg::GemmArgs;
    use suanli_kernels::ops::LinalgOp;
    use suanli_kernels::{DType, Op};

    fn mm(a: &[usize], b: &[usize], dt: DType, seed: u64) {
        let (rtol, atol) = match dt {
            DType::F16 => (1e-2, 2e-2),
            _ => (1e-4, 1e-4),
        };
        check_tol(
            Op::Linalg(LinalgOp::MatMul),
            vec![rnd(dt, a, seed), rnd(dt, b, seed + 1)],
            rtol,
            atol,
        );
    }

    fn gemm(a: &[usize], b: &[usize], c: Option<&[usize]>, ta: bool, tb: bool, alpha: f32, beta: f32) {
        let g = GemmArgs {
            alpha,
            beta,
            trans_a: ta,
            trans_b: tb,
        };
        check_tol(
            Op::Linalg(LinalgOp::Gemm(g)),
            vec![
                rnd(DType::F32, a, 3),
                rnd(DType::F32, b, 4),
                c.and_then(|c| rnd(DType::F32, c, 5)),
            ],
            1e-4,
            1e-4,
        );
    }

    #[test]
    fn matmul_tiles_and_tails() {
        mm(&[64, 16], &[16, 64], DType::F32, 1);
        mm(&[128, 64], &[64, 192], DType::F32, 1);
        mm(&[67, 45], &[45, 130], DType::F32, 2);
        mm(&[1, 1], &[1, 1], DType::F32, 2);
        mm(&[3, 300], &[300, 5], DType::F32, 2);
        mm(&[200, 17], &[17, 1], DType::F32, 2);
    }

    #[test]
    fn matmul_one_d_and_batches() {
        mm(&[45], &[45, 30], DType::F32, 1);
        mm(&[20, 45], &[45], DType::F32, 1);
        mm(&[45], &[45], DType::F32, 1);
        mm(&[2, 1, 5, 7], &[3, 7, 9], DType::F32, 1);
        mm(&[4, 33, 17], &[17, 70], DType::F32, 1);
        mm(&[17], &[3, 17, 70], DType::F32, 1);
        mm(&[3, 70, 17], &[17], DType::F32, 1);
        mm(&[2, 3, 4, 9, 10], &[1, 3, 1, 10, 11], DType::F32, 1);
    }

    #[test]
    fn matmul_empty() {
        check(
            Op::Linalg(LinalgOp::MatMul),
            vec![rnd(DType::F32, &[3, 0], 1), rnd(DType::F32, &[0, 4], 2)],
        );
        check(
            Op::Linalg(LinalgOp::MatMul),
            vec![rnd(DType::F32, &[0, 5], 1), rnd(DType::F32, &[5, 4], 2)],
        );
        check(
            Op::Linalg(LinalgOp::MatMul),
            vec![rnd(DType::F32, &[0, 2, 5], 1), rnd(DType::F32, &[5, 4], 2)],
        );
    }

    #[test]
    fn matmul_dtypes() {
        mm(&[37, 70], &[70, 41], DType::F16, 7);
        mm(&[2, 37, 70], &[70, 41], DType::F64, 7);
        mm(&[2, 37, 70], &[70, 41], DType::I32, 7);
        mm(&[37, 20], &[2, 20, 41], DType::I64, 7);
    }

    #[test]
    fn matmul_many_batches() {
        // More batches than one dispatch's z extent.
        mm(&[70000, 2, 3], &[3, 2], DType::F32, 9);
    }

    #[test]
    fn gemm_variants() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = if ta { [37, 29] } else { [29, 37] };
            let b = if tb { [70, 37] } else { [37, 70] };
            gemm(&a, &b, Some(&[29, 70]), ta, tb, 0.5, 2.0);
        }
        gemm(&[29, 37], &[37, 70], None, false, false, 1.5, 1.0);
        gemm(&[29, 37], &[37, 70], Some(&[70]), false, false, 1.0, 1.0);
        gemm(&[29, 37], &[37, 70], Some(&[29, 1]), false, false, 1.0, -1.0);
        gemm(&[29, 37], &[37, 70], Some(&[1, 70]), false, false, 1.0, 0.25);
        gemm(&[29, 37], &[37, 70], Some(&[]), false, false, 1.0, 3.0);
        gemm(&[29, 37], &[37, 70], Some(&[29, 70]), false, false, 1.0, 0.0);
        gemm(&[1, 2048], &[1000, 2048], Some(&[1000]), false, true, 1.0, 1.0);
    }

    #[test]
    fn gemm_f16() {
        let g = GemmArgs {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: true,
        };
        check_tol(
            Op::Linalg(LinalgOp::Gemm(g)),
            vec![
                rnd(DType::F16, &[5, 64], 1),
                rnd(DType::F16, &[33, 64], 2),
                rnd(DType::F16, &[33], 3),
            ],
            1e-2,
            5e-2,
        );
    }

    #[test]
    fn rejects_other_variants() {
        use super::super::{lower, Target};
        let spec = crate::conformance::spec_for(&Op::Linalg(LinalgOp::Det), &[rnd(DType::F32, &[3, 3], 1)]).unwrap();
        assert!(lower(&spec, &Target::ANY).is_err());
        let spec = crate::conformance::spec_for(
            &Op::Linalg(LinalgOp::MatMul),
            &[rnd(DType::U8, &[3, 3], 1), rnd(DType::U8, &[3, 3], 1)],
        )
        .unwrap();
        assert!(lower(&spec, &Target::ANY).is_err());
    }

    /// GFLOP/s of a 512³ f32 matmul: `cargo test -p suanli-backends matmul_gflops -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn matmul_gflops() {
        use crate::device::Device;
        let Some(dev) = crate::wgpu::tests::device() else {
            return;
        };
        let n = 512;
        let op = Op::Linalg(LinalgOp::MatMul);
        let ins = vec![rnd(DType::F32, &[n, n], 1), rnd(DType::F32, &[n, n], 2)];
        let spec = crate::conformance::spec_for(&op, &ins).unwrap();
        let k = dev.compile(&spec).unwrap();
        let a = dev.upload(ins[0].as_ref().unwrap()).unwrap();
        let b = dev.upload(ins[1].as_ref().unwrap()).unwrap();
        // Process CPU seconds (lavapipe's threads included): the machine may be shared.
        let cpu = || {
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
            let f: Vec<f64> = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .map(|v| v.parse().unwrap_or(0.0))
                .collect();
            f.get(11).zip(f.get(12)).map_or(0.0, |(u, s)| (u + s) / 100.0)
        };
        let run = |iters: usize| {
            let (t, c) = (std::time::Instant::now(), cpu());
            for _ in 0..iters {
                dev.launch(k.as_ref(), &[Some(&a), Some(&b)]).unwrap();
            }
            dev.synchronize().unwrap();
            (t.elapsed().as_secs_f64() / iters as f64, (cpu() - c) / iters as f64)
        };
        run(2);
        let (s, c) = run(10);
        let flop = 2.0 * (n * n * n) as f64;
        println!(
            "matmul {n}^3 f32: {:.3} ms wall, {:.2} GFLOP/s wall, {:.2} GFLOP per CPU-second",
            s * 1e3,
            flop / s / 1e9,
            flop / c / 1e9
        );
    }
}
