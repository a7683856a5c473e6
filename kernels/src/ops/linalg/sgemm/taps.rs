//! Multi-tap GEMM over an image read in place: `C = act(Σ_t A_t·B_t + bias + residual)` where
//! every `B_t` is a shifted window of one (padded) image. A stride-1 convolution is exactly this
//! with one tap per kernel position, so it needs no im2col copy: the micro-kernel reads its
//! `nr` columns straight from the image rows.

use super::driver::{run_taps, TapsProblem};
use super::{arch_of, validate_output, Epilogue, Isa, PackedA};
use crate::error::{KernelError, Result};

/// The right operands of [`sgemm_taps`]: `k` planes of `plane` floats in `data`. Output position
/// `(r, j)` (row `r < rows`, column `j < cols`; C column `r·cols + j`) of tap `t` reads depth `q`
/// at `data[offsets[t] + r·row_step + q·plane + j]`. Reads run up to [`TapGrid::slack`] floats
/// past the last column of a row (those lanes are computed and dropped), so `data` must extend
/// that far.
#[derive(Clone, Copy, Debug)]
pub struct TapGrid<'a> {
    /// The image.
    pub data: &'a [f32],
    /// Floats between consecutive depth planes.
    pub plane: usize,
    /// Output rows.
    pub rows: usize,
    /// Output columns per row.
    pub cols: usize,
    /// Floats between the windows of consecutive output rows.
    pub row_step: usize,
    /// Offset of each tap's window.
    pub offsets: &'a [usize],
}

impl TapGrid<'_> {
    /// Floats the kernel may read past the end of a row's last column on the detected ISA.
    pub fn slack() -> usize {
        super::panel_width()
    }
}

/// `C = act(Σ_t A_t·B_t + bias + residual)` over `m` rows and `rows·cols` columns (row stride
/// `ldc`). `a` is the packed `m × (taps·k)` left operand, tap `t`'s `A_t` in columns
/// `t·k..(t+1)·k`; `B_t` (`k × rows·cols`) is read in place from `grid`. Every tap of a micro-tile
/// accumulates in registers. Runs in parallel on the current pool.
pub fn sgemm_taps(
    m: usize,
    k: usize,
    a: &PackedA,
    grid: &TapGrid,
    c: &mut [f32],
    ldc: usize,
    epi: &Epilogue,
) -> Result<()> {
    let arch = arch_of(Isa::detect())?;
    let bad = |msg: String| Err(KernelError::invalid("sgemm_taps", msg));
    let n = grid.rows * grid.cols;
    let ntaps = grid.offsets.len();
    if (a.m, a.k, a.mr) != (m, ntaps * k, arch.mr) {
        return bad(format!(
            "packed A is {}x{} (mr {}), expected {m}x{} for {ntaps} taps (mr {})",
            a.m,
            a.k,
            a.mr,
            ntaps * k,
            arch.mr
        ));
    }
    validate_output(m, n, c.len(), ldc, epi)?;
    if m == 0 || n == 0 || k == 0 || ntaps == 0 {
        return bad(format!("empty product {m}x{k}x{n} over {ntaps} taps"));
    }
    let span = (grid.rows - 1)
        .checked_mul(grid.row_step)
        .and_then(|s| s.checked_add((k - 1).checked_mul(grid.plane)?))
        .and_then(|s| s.checked_add(grid.cols.div_ceil(arch.nr) * arch.nr))
        .and_then(|s| s.checked_add(*grid.offsets.iter().max()?));
    if span.is_none_or(|s| s > grid.data.len()) {
        return bad(format!(
            "the image of {} floats is too small for {} rows × {} columns × {k} planes",
            grid.data.len(),
            grid.rows,
            grid.cols
        ));
    }
    let flops = 2.0 * (m * k * n * ntaps) as f64;
    let nt = if flops < 2.0e6 {
        1
    } else {
        rayon::current_num_threads().max(1)
    };
    let p = TapsProblem {
        m,
        k,
        a: a.buf.as_slice(),
        grid,
    };
    run_taps(arch, &p, c, ldc, epi, nt);
    Ok(())
}
