//! suanli's own f32 GEMM: `C = act(alpha·A·B + beta·C + bias + residual)`.
//!
//! BLIS-style cache blocking (KC / MC / NC) with A and B packed into micro-panels, a
//! register-blocked micro-kernel per ISA (AVX-512F 12×32, AVX2+FMA 6×16, portable 4×8; chosen at
//! run time and cached), the epilogue fused into the micro-kernel's write-back, rayon parallelism
//! over the current pool, a no-packing skinny path for `m ≤ 16`, and grow-only shared
//! packing buffers so warm calls do not allocate.

mod driver;
mod kernel;
mod pack;
mod simd;
mod taps;

pub use pack::{pack_a, pack_a_isa, pack_b, pack_b_isa, PackedA, PackedB};
pub(crate) use pack::{with_scratch, Scratch};
pub use taps::{sgemm_taps, sgemm_taps_isa, sgemm_taps_t, sgemm_taps_t_isa, TapGrid};

use super::gemm::{check_view, MatRef};
use crate::error::{KernelError, Result};
use kernel::Arch;
use std::sync::OnceLock;

/// Activation fused into the GEMM write-back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// Identity.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `x` if positive, else `alpha·x`.
    LeakyRelu(f32),
    /// `min(max(x, lo), hi)`.
    Clip(f32, f32),
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `x·(1 + erf(x/√2))/2` (exact erf form).
    Gelu,
    /// `x·sigmoid(x)`.
    Silu,
}

impl Activation {
    /// The activation of one value (the vector write-back applies the same formulas).
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * x
                }
            }
            Activation::Clip(lo, hi) => x.max(lo).min(hi),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
            Activation::Gelu => 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2)),
            Activation::Silu => x / (1.0 + (-x).exp()),
        }
    }
}

/// Bias added before the activation.
#[derive(Clone, Copy, Debug)]
pub enum Bias<'a> {
    /// No bias.
    None,
    /// One value per row of C (conv: per output channel); length ≥ m.
    Row(&'a [f32]),
    /// One value per column of C (Gemm / MatMul bias); length ≥ n.
    Col(&'a [f32]),
}

/// What the write-back applies after `alpha·A·B + beta·C`.
#[derive(Clone, Copy, Debug)]
pub struct Epilogue<'a> {
    /// Bias (per row or per column).
    pub bias: Bias<'a>,
    /// Residual `m × n` matrix with its row stride, added before the activation.
    pub residual: Option<(&'a [f32], usize)>,
    /// Activation applied last.
    pub act: Activation,
}

impl Epilogue<'_> {
    /// No bias, no residual, no activation.
    pub fn none() -> Self {
        Epilogue {
            bias: Bias::None,
            residual: None,
            act: Activation::None,
        }
    }
}

impl Default for Epilogue<'_> {
    fn default() -> Self {
        Epilogue::none()
    }
}

/// The left operand.
#[derive(Clone, Copy, Debug)]
pub enum AOperand<'a> {
    /// A strided `m × k` view.
    Plain(MatRef<'a, f32>),
    /// Prepacked by [`pack_a`].
    Packed(&'a PackedA),
}

/// The right operand.
#[derive(Clone, Copy, Debug)]
pub enum BOperand<'a> {
    /// A strided `k × n` view.
    Plain(MatRef<'a, f32>),
    /// Prepacked by [`pack_b`].
    Packed(&'a PackedB),
    /// Micro-panels laid out like [`PackedB`] by the caller (e.g. im2col writing its columns
    /// straight into panels): `n.div_ceil(nr)` panels of `k × nr` floats, panel `jp` at
    /// `jp·k·nr`, element `(p, jp·nr + j)` at `p·nr + j`, columns past `n` zero. `nr` must be
    /// [`panel_width`] of the ISA that runs the product.
    Panels {
        /// The panels.
        data: &'a [f32],
        /// Columns per panel.
        nr: usize,
    },
}

/// Rows per A micro-panel of the detected ISA's kernel.
pub fn panel_height() -> usize {
    arch_of(Isa::detect()).map(|a| a.mr).unwrap_or(kernel::GENERIC.mr)
}

/// Columns per B micro-panel of the detected ISA's kernel (the `nr` of [`BOperand::Panels`]).
pub fn panel_width() -> usize {
    arch_of(Isa::detect()).map(|a| a.nr).unwrap_or(kernel::GENERIC.nr)
}

/// Instruction-set variant of the micro-kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust (any target).
    Generic,
    /// x86-64 AVX2 + FMA.
    Avx2Fma,
    /// x86-64 AVX-512F.
    Avx512,
}

impl Isa {
    /// The best ISA this CPU supports (detected once, then cached).
    pub fn detect() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| *Isa::available().last().unwrap_or(&Isa::Generic))
    }

    /// Every ISA this CPU can run, worst to best.
    pub fn available() -> Vec<Isa> {
        let mut v = vec![Isa::Generic];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                v.push(Isa::Avx2Fma);
            }
            if is_x86_feature_detected!("avx512f") {
                v.push(Isa::Avx512);
            }
        }
        v
    }
}

/// The kernel table of `isa`, or an error when this CPU / target cannot run it.
pub(crate) fn arch_of(isa: Isa) -> Result<&'static Arch> {
    match isa {
        Isa::Generic => return Ok(&kernel::GENERIC),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") => {
            return Ok(&kernel::AVX2)
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if is_x86_feature_detected!("avx512f") => return Ok(&kernel::AVX512),
        _ => {}
    }
    Err(KernelError::unsupported(
        "sgemm",
        format!("ISA {isa:?} not available on this CPU"),
    ))
}

/// `C = act(alpha·A·B + beta·C + bias + residual)` with the best kernel for this CPU.
///
/// `a` is `m × k`, `b` is `k × n`, `c` is `m × n` row-major with row stride `ldc`. With
/// `beta == 0` the old contents of `c` are ignored (may be NaN).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: AOperand,
    b: BOperand,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    epi: &Epilogue,
) -> Result<()> {
    sgemm_isa(Isa::detect(), m, k, n, alpha, a, b, beta, c, ldc, epi)
}

/// [`sgemm`] with an explicit micro-kernel ISA (errors when the CPU lacks it).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_isa(
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: AOperand,
    b: BOperand,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    epi: &Epilogue,
) -> Result<()> {
    let arch = arch_of(isa)?;
    validate(m, k, n, &a, &b, c.len(), ldc, epi)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    // A packed operand laid out for another micro-tile shape is unpacked (rare: tests only).
    let a_tmp;
    let a = match a {
        AOperand::Packed(p) if p.mr != arch.mr => {
            a_tmp = p.unpack();
            driver::ASrc::Plain(MatRef::rows(&a_tmp, 0, k))
        }
        AOperand::Packed(p) => driver::ASrc::Packed(p.buf.as_slice()),
        AOperand::Plain(v) => driver::ASrc::Plain(v),
    };
    let b_tmp;
    let b = match b {
        BOperand::Packed(p) if p.nr != arch.nr => {
            b_tmp = p.unpack();
            driver::BSrc::Plain(MatRef::rows(&b_tmp, 0, n))
        }
        BOperand::Packed(p) => driver::BSrc::Packed(p.buf.as_slice()),
        BOperand::Panels { nr, .. } if nr != arch.nr => {
            return Err(KernelError::invalid(
                "sgemm",
                format!("B panels are {nr} columns wide, the {isa:?} kernel needs {}", arch.nr),
            ))
        }
        BOperand::Panels { data, .. } => driver::BSrc::Packed(data),
        BOperand::Plain(v) => driver::BSrc::Plain(v),
    };
    driver::run(arch, m, k, n, alpha, a, b, beta, c, ldc, epi);
    Ok(())
}

/// Check every operand's shape and bounds so the kernels can index unchecked.
#[allow(clippy::too_many_arguments)]
fn validate(
    m: usize,
    k: usize,
    n: usize,
    a: &AOperand,
    b: &BOperand,
    clen: usize,
    ldc: usize,
    epi: &Epilogue,
) -> Result<()> {
    let bad = |msg: String| Err(KernelError::invalid("sgemm", msg));
    match a {
        AOperand::Plain(v) => check_view(v.data.len(), v.off, m, k, v.rs, v.cs)?,
        AOperand::Packed(p) if (p.m, p.k) != (m, k) => {
            return bad(format!("packed A is {}x{}, expected {m}x{k}", p.m, p.k))
        }
        AOperand::Packed(_) => {}
    }
    match b {
        BOperand::Plain(v) => check_view(v.data.len(), v.off, k, n, v.rs, v.cs)?,
        BOperand::Packed(p) if (p.k, p.n) != (k, n) => {
            return bad(format!("packed B is {}x{}, expected {k}x{n}", p.k, p.n))
        }
        BOperand::Packed(_) => {}
        BOperand::Panels { data, nr } => {
            let need = n.div_ceil((*nr).max(1)).checked_mul(k * nr);
            if *nr == 0 || need.is_none_or(|need| data.len() < need) {
                return bad(format!(
                    "{} floats cannot hold {k}x{n} B panels of width {nr}",
                    data.len()
                ));
            }
        }
    }
    validate_output(m, n, clen, ldc, epi)
}

/// Check C (`m × n`, row stride `ldc`, `clen` floats) and the epilogue's operands.
fn validate_output(m: usize, n: usize, clen: usize, ldc: usize, epi: &Epilogue) -> Result<()> {
    let bad = |msg: String| Err(KernelError::invalid("sgemm", msg));
    if m > 1 && ldc < n {
        return bad(format!("ldc {ldc} < n {n}"));
    }
    check_view(clen, 0, m, n, ldc, 1)?;
    match epi.bias {
        Bias::Row(v) if v.len() < m => return bad(format!("row bias has {} < {m} values", v.len())),
        Bias::Col(v) if v.len() < n => return bad(format!("column bias has {} < {n} values", v.len())),
        _ => {}
    }
    if let Some((r, rs)) = epi.residual {
        check_view(r.len(), 0, m, n, rs, 1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
