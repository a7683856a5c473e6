//! Multi-tap GEMM over an image read in place: `C = act(Σ_t A_t·B_t + bias + residual)` where
//! every image-side operand is a shifted window of one (padded) image. A convolution is exactly
//! this with one tap per kernel position, so it needs no im2col copy. [`sgemm_taps`] takes the
//! image positions as C's columns (the micro-kernel reads its `nr` columns straight from the
//! image rows); [`sgemm_taps_t`] takes them as C's rows (the kernel broadcasts one image value
//! per row).

use super::driver::{row_tiles, run_taps, run_taps_t, TapsProblem, TapsTProblem};
use super::{arch_of, validate_output, Epilogue, Isa, PackedA, PackedB};
use crate::error::{KernelError, Result};

/// The image operands of [`sgemm_taps`] (right) and [`sgemm_taps_t`] (left): `k` planes of
/// `plane` floats in `data`. Output position `(r, j)` (row `r < rows`, column `j < cols`; C
/// column `r·cols + j` of `sgemm_taps`, C row `r·cols + j` of `sgemm_taps_t`) of tap `t` reads
/// depth `q` at `data[offsets[t] + r·row_step + q·plane + j]`. Reads run up to
/// [`TapGrid::slack`] floats past the last column of a row for `sgemm_taps` (those lanes are
/// computed and dropped) and [`TapGrid::row_slack`] for `sgemm_taps_t`, so `data` must extend
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

    /// Floats [`sgemm_taps_t`] may read past the last position of a row of `cols` positions on
    /// the detected ISA (0 unless a row splits into tiles lower than the smallest kernel).
    pub fn row_slack(cols: usize) -> usize {
        Self::row_slack_isa(Isa::detect(), cols)
    }

    /// [`TapGrid::row_slack`] for the kernels of `isa`.
    pub fn row_slack_isa(isa: Isa, cols: usize) -> usize {
        arch_of(isa).map_or(0, |a| overread(a, cols))
    }
}

/// Check that every read of `grid` over `k` planes lies in its data, a row's reads reaching
/// `row_reach` floats from its first position (tiles' lanes or rows past the last position).
fn check_extent(op: &str, grid: &TapGrid, k: usize, row_reach: usize) -> Result<()> {
    let span = (grid.rows - 1)
        .checked_mul(grid.row_step)
        .and_then(|s| s.checked_add((k - 1).checked_mul(grid.plane)?))
        .and_then(|s| s.checked_add(row_reach))
        .and_then(|s| s.checked_add(*grid.offsets.iter().max()?));
    if span.is_none_or(|s| s > grid.data.len()) {
        return Err(KernelError::invalid(
            op,
            format!(
                "the image of {} floats is too small for {} rows × {} columns × {k} planes",
                grid.data.len(),
                grid.rows,
                grid.cols
            ),
        ));
    }
    Ok(())
}

/// Threads for a product of `macs` multiply-adds: below 1 M, the calling thread alone (no
/// fork / join); else the current pool.
fn threads_for(macs: usize) -> usize {
    if macs < 1_000_000 {
        1
    } else {
        rayon::current_num_threads().max(1)
    }
}

/// The largest over-read of [`sgemm_taps_t`]'s kernels past a row of `cols` positions.
fn overread(arch: &super::Arch, cols: usize) -> usize {
    let (_, base, extra) = row_tiles(cols, arch.mr);
    let over = |mv: usize| arch.taps_t_for(mv).0.saturating_sub(mv);
    if extra > 0 {
        over(base).max(over(base + 1))
    } else {
        over(base)
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
    sgemm_taps_isa(Isa::detect(), m, k, a, grid, c, ldc, epi)
}

/// [`sgemm_taps`] on the kernels of `isa` (`a` packed for it by [`super::pack_a_isa`]).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_taps_isa(
    isa: Isa,
    m: usize,
    k: usize,
    a: &PackedA,
    grid: &TapGrid,
    c: &mut [f32],
    ldc: usize,
    epi: &Epilogue,
) -> Result<()> {
    let arch = arch_of(isa)?;
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
    check_extent("sgemm_taps", grid, k, grid.cols.div_ceil(arch.nr) * arch.nr)?;
    let nt = threads_for(m * k * n * ntaps);
    let p = TapsProblem {
        m,
        k,
        a: a.buf.as_slice(),
        grid,
    };
    run_taps(arch, &p, c, ldc, epi, nt);
    Ok(())
}

/// Positions as rows: `C = act(Σ_t A_t·B_t + bias + residual)` over `rows·cols` rows (C row
/// `r·cols + j`, row stride `ldc`) and `n` columns. Tap `t`'s `A_t` (`rows·cols × k`) is read in
/// place: position `(r, j)` at depth `q` is `grid.data[offsets[t] + r·row_step + j + q·plane]`,
/// and reads run up to [`TapGrid::row_slack`] floats past a row's last position. `b` is the
/// packed `(taps·k) × n` right operand, tap `t`'s `B_t` in rows `t·k..(t+1)·k`. Every tap of a
/// micro-tile accumulates in registers. Runs in parallel on the current pool.
///
/// This is a convolution with few output positions and many channels: positions become
/// micro-tile rows (no `nr`-wide panel mostly padding) and nothing is copied or packed per run.
pub fn sgemm_taps_t(
    n: usize,
    k: usize,
    b: &PackedB,
    grid: &TapGrid,
    c: &mut [f32],
    ldc: usize,
    epi: &Epilogue,
) -> Result<()> {
    sgemm_taps_t_isa(Isa::detect(), n, k, b, grid, c, ldc, epi)
}

/// [`sgemm_taps_t`] on the kernels of `isa` (`b` packed for it by [`super::pack_b_isa`]).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_taps_t_isa(
    isa: Isa,
    n: usize,
    k: usize,
    b: &PackedB,
    grid: &TapGrid,
    c: &mut [f32],
    ldc: usize,
    epi: &Epilogue,
) -> Result<()> {
    let arch = arch_of(isa)?;
    let bad = |msg: String| Err(KernelError::invalid("sgemm_taps_t", msg));
    let m = grid.rows * grid.cols;
    let ntaps = grid.offsets.len();
    if (b.k, b.n, b.nr) != (ntaps * k, n, arch.nr) {
        return bad(format!(
            "packed B is {}x{} (nr {}), expected {}x{n} for {ntaps} taps (nr {})",
            b.k,
            b.n,
            b.nr,
            ntaps * k,
            arch.nr
        ));
    }
    validate_output(m, n, c.len(), ldc, epi)?;
    if m == 0 || n == 0 || k == 0 || ntaps == 0 {
        return bad(format!("empty product {m}x{k}x{n} over {ntaps} taps"));
    }
    check_extent("sgemm_taps_t", grid, k, grid.cols + overread(arch, grid.cols))?;
    let nt = threads_for(m * k * n * ntaps);
    let p = TapsTProblem {
        n,
        k,
        b: b.buf.as_slice(),
        grid,
    };
    run_taps_t(arch, &p, c, ldc, epi, nt);
    Ok(())
}
