//! The register-blocked micro-kernel (written once against [`Simd`]), its fused epilogue, and the
//! per-ISA entry points with their blocking parameters.

use super::simd::{Portable, Simd};
use super::Activation;
use crate::vmath::funcs;

/// One `mv × nv` output tile plus everything the fused write-back needs.
///
/// Pointers are pre-offset to the tile's first row / column; null means "absent".
pub(crate) struct Tile {
    /// C at (i0, j0).
    pub c: *mut f32,
    /// Row stride of C.
    pub ldc: usize,
    /// Valid rows (≤ MR).
    pub mv: usize,
    /// Valid columns (≤ NR).
    pub nv: usize,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of the old C (only read in the first K block).
    pub beta: f32,
    /// First K block: combine with `beta·C` instead of accumulating into C.
    pub first: bool,
    /// Last K block: apply bias, residual and activation.
    pub last: bool,
    /// Row bias at row i0, or null.
    pub bias_row: *const f32,
    /// Column bias at column j0, or null.
    pub bias_col: *const f32,
    /// Residual at (i0, j0), or null.
    pub res: *const f32,
    /// Row stride of the residual.
    pub res_rs: usize,
    /// Activation.
    pub act: Activation,
}

/// Signature of a micro-kernel entry point: `kc` steps over an A micro-panel (packed: `a` with
/// `MR` floats per step; plain: rows `a + i·a_rs`, step `a_cs`) and a B micro-panel (`NR`
/// contiguous floats per step, step `b_ks`), then the fused write-back into `t`.
pub(crate) type KernFn = unsafe fn(usize, *const f32, usize, usize, *const f32, usize, &Tile);

/// Signature of a multi-tap micro-kernel: for each of `ntaps` offsets `offs[t]`, `k` steps over
/// the packed A micro-panel (`MR` floats per step, taps one after another) and B rows at
/// `b + offs[t] + q·plane` (`NR` readable floats each), all accumulated in registers, then the
/// fused write-back into the tile.
pub(crate) type TapsFn = unsafe fn(*const usize, usize, usize, *const f32, *const f32, usize, &Tile);

/// Signature of a positions-as-rows multi-tap micro-kernel: for each of `ntaps` offsets
/// `offs[t]`, `k` steps whose A values (one per tile row) are the consecutive floats at
/// `a + offs[t] + q·plane` (`q < k`, row `i` at `+ i`) and whose B rows are the packed panel's
/// next `NR` floats (taps one after another), all accumulated in registers, then the fused
/// write-back into the tile. The last pointer is a stream the kernel prefetches into L2 one
/// cache line per step (the next B panel, so weights streamed from memory arrive before the
/// tiles that read them).
pub(crate) type TapsTFn = unsafe fn(*const usize, usize, usize, *const f32, usize, *const f32, &Tile, *const f32);

/// Blocking parameters and kernels of one ISA.
pub(crate) struct Arch {
    /// Micro-tile rows.
    pub mr: usize,
    /// Micro-tile columns.
    pub nr: usize,
    /// K block (B micro-panel `kc × nr` stays in L1).
    pub kc: usize,
    /// M block (packed A block `mc × kc` stays in L2).
    pub mc: usize,
    /// N block (packed B block `kc × nc` stays in L3).
    pub nc: usize,
    /// Kernel reading a packed A micro-panel.
    pub packed: KernFn,
    /// Kernels for a partial last row panel, by ascending row count: `(r, f)` computes the
    /// first `r` rows of an `mr`-row packed panel (so a panel with few valid rows does not pay
    /// for `mr`; e.g. 49 output positions are 4 full panels and one row).
    pub packed_short: &'static [(usize, KernFn)],
    /// Kernels reading A in place through strides, by row count: `plain[r - 1]` computes `r`
    /// rows (so a short row group wastes no FMAs).
    pub plain: &'static [KernFn],
    /// Multi-tap kernel reading B in place (direct convolution).
    pub taps: TapsFn,
    /// Multi-tap kernels for a partial last row panel (as `packed_short`).
    pub taps_short: &'static [(usize, TapsFn)],
    /// Positions-as-rows multi-tap kernels by ascending row count `(r, f)`: `f` computes `r`
    /// rows (the last covers `mr`). Fewer rows than the smallest would leave the FMA latency
    /// exposed, so they run on it (reading, not storing, the extra rows).
    pub taps_t: &'static [(usize, TapsTFn)],
}

impl Arch {
    /// The packed-A kernel for a tile of `mv` valid rows.
    #[inline]
    pub fn packed_for(&self, mv: usize) -> KernFn {
        covering(self.packed_short, mv).map_or(self.packed, |s| s.1)
    }

    /// The multi-tap kernel for a tile of `mv` valid rows.
    #[inline]
    pub fn taps_for(&self, mv: usize) -> TapsFn {
        covering(self.taps_short, mv).map_or(self.taps, |s| s.1)
    }

    /// The positions-as-rows multi-tap kernel for `mv` valid rows, and the rows it reads.
    #[inline]
    pub fn taps_t_for(&self, mv: usize) -> (usize, TapsTFn) {
        covering(self.taps_t, mv).unwrap_or(self.taps_t[self.taps_t.len() - 1])
    }
}

/// The first `(rows, kernel)` of `list` (ascending rows) covering `mv` rows.
#[inline]
fn covering<F: Copy>(list: &[(usize, F)], mv: usize) -> Option<(usize, F)> {
    list.iter().find(|s| mv <= s.0).copied()
}

/// Whether the activation is applied by the vector-maths pass after the write-back.
#[inline(always)]
fn act_is_transcendental(act: Activation) -> bool {
    matches!(
        act,
        Activation::Sigmoid | Activation::Tanh | Activation::Gelu | Activation::Silu
    )
}

/// A transcendental activation of one vector (identity for the others, which the write-back
/// applies inline).
///
/// # Safety
/// The caller runs with `S`'s target features.
#[inline(always)]
unsafe fn act_vec<S: Simd>(act: Activation, x: S::V) -> S::V {
    // SAFETY: forwarded contract.
    unsafe {
        match act {
            Activation::Sigmoid => funcs::sigmoid::<S::Math>(x),
            Activation::Tanh => funcs::tanh::<S::Math>(x),
            Activation::Gelu => funcs::gelu::<S::Math>(x),
            Activation::Silu => funcs::silu::<S::Math>(x),
            _ => x,
        }
    }
}

/// How many K steps ahead the micro-kernel prefetches its B rows.
const B_PREFETCH_ROWS: usize = 8;
/// How many K steps ahead the micro-kernel prefetches its packed A panel.
const A_PREFETCH: usize = 16;

/// The micro-kernel: `MR × (NV·L)` accumulators in registers, then [`write_back`].
///
/// # Safety
/// With `PA`, `a` points at a packed panel of `kc` steps `AS ≥ MR` floats apart (a panel of a
/// taller kernel when `AS > MR`); without, rows `a + i·a_rs + p·a_cs` are
/// readable for `i < t.mv`, `p < kc`. `b + p·b_ks` has `NV·L` readable floats for `p < kc`.
/// The tile's pointers satisfy [`write_back`]'s contract.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro<S: Simd, const MR: usize, const NV: usize, const PA: bool, const AS: usize>(
    kc: usize,
    a: *const f32,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    b_ks: usize,
    t: &Tile,
) {
    // SAFETY: every access below stays inside the ranges the caller guarantees.
    unsafe {
        // Start pulling the C tile in now; it is read / written after the K loop.
        for i in 0..MR.min(t.mv) {
            let row = t.c.wrapping_add(i * t.ldc);
            S::prefetch(row);
            S::prefetch(row.wrapping_add(t.nv - 1));
        }
        let mut acc = [[S::zero(); NV]; MR];
        let mut bp = b;
        if PA {
            let mut ap = a;
            // Fetch a few steps ahead: B rows read in place may lie a page or more apart (beyond
            // the hardware prefetchers), and in a network's convolutions A and B come from L2 or
            // farther (in-model A/B: resnet50 0.985, squeezenet 0.95).
            let pf = B_PREFETCH_ROWS * b_ks;
            for _ in 0..kc {
                S::prefetch(bp.wrapping_add(pf));
                S::prefetch(bp.wrapping_add(pf + NV * S::L - 1));
                S::prefetch(ap.wrapping_add(A_PREFETCH * AS));
                let bv: [S::V; NV] = std::array::from_fn(|v| S::load(bp.add(v * S::L)));
                for (i, row) in acc.iter_mut().enumerate() {
                    let av = S::splat(*ap.add(i));
                    for v in 0..NV {
                        row[v] = S::fmadd(av, bv[v], row[v]);
                    }
                }
                ap = ap.wrapping_add(AS);
                bp = bp.wrapping_add(b_ks);
            }
        } else {
            // Rows past the valid ones alias row 0: computed, never written back.
            let rows: [*const f32; MR] = std::array::from_fn(|i| if i < t.mv { a.add(i * a_rs) } else { a });
            // Few rows give too few independent FMA chains to hide the FMA latency: split K
            // over `ku` accumulator sets (summed at the end).
            let ku = if MR * NV <= 2 {
                4
            } else if MR * NV <= 6 {
                2
            } else {
                1
            };
            let mut extra = [[[S::zero(); NV]; MR]; 3];
            let (mut off, mut p) = (0usize, 0usize);
            while p + ku <= kc {
                step::<S, MR, NV>(&mut acc, &rows, off, bp);
                for set in extra.iter_mut().take(ku - 1) {
                    off += a_cs;
                    bp = bp.wrapping_add(b_ks);
                    step::<S, MR, NV>(set, &rows, off, bp);
                }
                off += a_cs;
                bp = bp.wrapping_add(b_ks);
                p += ku;
            }
            while p < kc {
                step::<S, MR, NV>(&mut acc, &rows, off, bp);
                off += a_cs;
                bp = bp.wrapping_add(b_ks);
                p += 1;
            }
            for set in extra.iter().take(ku - 1) {
                for (row, srow) in acc.iter_mut().zip(set) {
                    for v in 0..NV {
                        row[v] = S::add(row[v], srow[v]);
                    }
                }
            }
        }
        write_back::<S, MR, NV>(&acc, t);
    }
}

/// The multi-tap micro-kernel (see [`TapsFn`]).
///
/// # Safety
/// `offs` has `ntaps` readable offsets; `a` has `ntaps·k·AS` readable floats (steps `AS ≥ MR`
/// apart); for every tap `t`
/// and `q < k`, `b + offs[t] + q·plane` has `NV·L` readable floats; the tile's pointers satisfy
/// [`write_back`]'s contract.
#[inline(always)]
unsafe fn micro_taps<S: Simd, const MR: usize, const NV: usize, const AS: usize>(
    offs: *const usize,
    ntaps: usize,
    k: usize,
    a: *const f32,
    b: *const f32,
    plane: usize,
    t: &Tile,
) {
    // SAFETY: every access stays inside the ranges the caller guarantees.
    unsafe {
        for i in 0..MR.min(t.mv) {
            let row = t.c.wrapping_add(i * t.ldc);
            S::prefetch(row);
            S::prefetch(row.wrapping_add(t.nv - 1));
        }
        // Per tap, the K loop of the packed kernel on accumulators passed by value: LLVM then
        // keeps them in registers whatever the surrounding code (a flat (tap, depth) loop with
        // a branch per step compiled to a store after every FMA in some builds, at half speed).
        let mut acc = [[S::zero(); NV]; MR];
        for tap in 0..ntaps {
            let ap = a.add(tap * k * AS);
            let bp = b.wrapping_add(*offs.add(tap));
            acc = taps_k::<S, MR, NV, AS>(acc, k, ap, bp, plane);
        }
        write_back::<S, MR, NV>(&acc, t);
    }
}

/// The positions-as-rows multi-tap micro-kernel (see [`TapsTFn`]).
///
/// # Safety
/// `offs` has `ntaps` readable offsets; for every tap `t` and `q < k`, `a + offs[t] + q·plane`
/// has `MR` readable floats; `b` has `ntaps·k·NV·L` readable floats; the tile's pointers
/// satisfy [`write_back`]'s contract.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro_taps_t<S: Simd, const MR: usize, const NV: usize>(
    offs: *const usize,
    ntaps: usize,
    k: usize,
    a: *const f32,
    plane: usize,
    b: *const f32,
    t: &Tile,
    pf: *const f32,
) {
    // SAFETY: every access stays inside the ranges the caller guarantees.
    unsafe {
        for i in 0..MR.min(t.mv) {
            let row = t.c.wrapping_add(i * t.ldc);
            S::prefetch(row);
            S::prefetch(row.wrapping_add(t.nv - 1));
        }
        // Accumulators passed by value per tap, as in `micro_taps` (kept in registers).
        let mut acc = [[S::zero(); NV]; MR];
        for tap in 0..ntaps {
            let ap = a.add(*offs.add(tap));
            let bp = b.add(tap * k * NV * S::L);
            acc = taps_t_k::<S, MR, NV>(acc, k, ap, plane, bp, pf.wrapping_add(tap * k * 16));
        }
        write_back::<S, MR, NV>(&acc, t);
    }
}

/// `k` rank-1 updates of `acc` from A values `plane` apart from `ap` (row `i` at `+ i`) and
/// the packed B rows from `bp` (one tap of [`micro_taps_t`]).
///
/// # Safety
/// `ap + q·plane` has `MR` readable floats for `q < k`; `bp` has `k·NV·L` readable floats.
#[inline(always)]
unsafe fn taps_t_k<S: Simd, const MR: usize, const NV: usize>(
    mut acc: [[S::V; NV]; MR],
    k: usize,
    mut ap: *const f32,
    plane: usize,
    mut bp: *const f32,
    mut pf: *const f32,
) -> [[S::V; NV]; MR] {
    // SAFETY: the caller's contract.
    unsafe {
        for _ in 0..k {
            S::prefetch(bp.wrapping_add(B_PREFETCH_ROWS * NV * S::L));
            S::prefetch_l2(pf);
            pf = pf.wrapping_add(16);
            let bv: [S::V; NV] = std::array::from_fn(|v| S::load(bp.add(v * S::L)));
            for (i, row) in acc.iter_mut().enumerate() {
                let av = S::splat(*ap.add(i));
                for v in 0..NV {
                    row[v] = S::fmadd(av, bv[v], row[v]);
                }
            }
            ap = ap.wrapping_add(plane);
            bp = bp.add(NV * S::L);
        }
    }
    acc
}

/// `k` rank-1 updates of `acc` from the packed A micro-panel at `ap` and B rows `plane` apart
/// from `bp` (one tap of [`micro_taps`]).
///
/// # Safety
/// `ap` has `k·AS` readable floats and `bp + q·plane` has `NV·L` readable floats for `q < k`.
#[inline(always)]
unsafe fn taps_k<S: Simd, const MR: usize, const NV: usize, const AS: usize>(
    mut acc: [[S::V; NV]; MR],
    k: usize,
    mut ap: *const f32,
    mut bp: *const f32,
    plane: usize,
) -> [[S::V; NV]; MR] {
    // SAFETY: the caller's contract.
    unsafe {
        for _ in 0..k {
            let bv: [S::V; NV] = std::array::from_fn(|v| S::load(bp.add(v * S::L)));
            for (i, row) in acc.iter_mut().enumerate() {
                let av = S::splat(*ap.add(i));
                for v in 0..NV {
                    row[v] = S::fmadd(av, bv[v], row[v]);
                }
            }
            ap = ap.add(AS);
            bp = bp.wrapping_add(plane);
        }
    }
    acc
}

/// One K step of the plain-A kernel: `acc[i] += A[i][off] · B[bp..bp + NV·L]`.
///
/// # Safety
/// `rows[i] + off` is readable and `bp` has `NV·L` readable floats.
#[inline(always)]
unsafe fn step<S: Simd, const MR: usize, const NV: usize>(
    acc: &mut [[S::V; NV]; MR],
    rows: &[*const f32; MR],
    off: usize,
    bp: *const f32,
) {
    // SAFETY: the caller's contract.
    unsafe {
        let bv: [S::V; NV] = std::array::from_fn(|v| S::load(bp.add(v * S::L)));
        for (i, row) in acc.iter_mut().enumerate() {
            let av = S::splat(*rows[i].add(off));
            for v in 0..NV {
                row[v] = S::fmadd(av, bv[v], row[v]);
            }
        }
    }
}

/// Fused epilogue: `C = act(alpha·acc + beta·C + bias + residual)` over the valid `mv × nv` part
/// (bias / residual / activation only in the last K block; later K blocks accumulate into C).
///
/// # Safety
/// `t.c + i·ldc + j` is writable (and readable unless first with beta 0), `t.res + i·res_rs + j`
/// readable, `t.bias_row + i` and `t.bias_col + j` readable, for `i < mv`, `j < nv`.
#[inline(always)]
unsafe fn write_back<S: Simd, const MR: usize, const NV: usize>(acc: &[[S::V; NV]; MR], t: &Tile) {
    // SAFETY: lane counts are clipped to the valid tile; see the function contract.
    unsafe {
        let alpha = S::splat(t.alpha);
        let beta = S::splat(t.beta);
        let zero = S::zero();
        let read_c = !t.first || t.beta != 0.0;
        for (i, row) in acc.iter().enumerate().take(t.mv) {
            let crow = t.c.add(i * t.ldc);
            for (v, &a) in row.iter().enumerate() {
                let j = v * S::L;
                if j >= t.nv {
                    break;
                }
                let n = t.nv - j;
                let part = n < S::L;
                let ld = |p: *const f32| if part { S::load_part(p, n) } else { S::load(p) };
                let mut x = if read_c {
                    let old = ld(crow.add(j));
                    let old = if t.first { S::mul(old, beta) } else { old };
                    S::fmadd(a, alpha, old)
                } else {
                    S::mul(a, alpha)
                };
                if t.last {
                    if !t.bias_row.is_null() {
                        x = S::add(x, S::splat(*t.bias_row.add(i)));
                    }
                    if !t.bias_col.is_null() {
                        x = S::add(x, ld(t.bias_col.add(j)));
                    }
                    if !t.res.is_null() {
                        x = S::add(x, ld(t.res.add(i * t.res_rs + j)));
                    }
                    match t.act {
                        Activation::Relu => x = S::max(x, zero),
                        Activation::LeakyRelu(s) => x = S::add(S::max(x, zero), S::mul(S::min(x, zero), S::splat(s))),
                        Activation::Clip(lo, hi) => x = S::min(S::max(x, S::splat(lo)), S::splat(hi)),
                        _ => {}
                    }
                }
                if part {
                    S::store_part(crow.add(j), x, n);
                } else {
                    S::store(crow.add(j), x);
                }
            }
        }
        // Transcendental activations as a second vector pass over the (L1-resident) tile, so
        // the accumulators are all stored before the long polynomial chains need registers.
        if t.last && act_is_transcendental(t.act) {
            for i in 0..t.mv {
                let crow = t.c.add(i * t.ldc);
                let mut j = 0;
                while j < t.nv {
                    let n = t.nv - j;
                    if n < S::L {
                        S::store_part(crow.add(j), act_vec::<S>(t.act, S::load_part(crow.add(j), n)), n);
                    } else {
                        S::store(crow.add(j), act_vec::<S>(t.act, S::load(crow.add(j))));
                    }
                    j += S::L;
                }
            }
        }
    }
}

macro_rules! entry {
    ($name:ident, $simd:ty, $mr:literal, $nv:literal, $pa:literal $(, $feat:literal)?) => {
        entry!($name, $simd, $mr, $nv, $pa, step $mr $(, $feat)?);
    };
    ($name:ident, $simd:ty, $mr:literal, $nv:literal, $pa:literal, step $as:literal $(, $feat:literal)?) => {
        /// Micro-kernel entry point (see [`KernFn`]).
        ///
        /// # Safety
        /// The contract of `micro`; for x86 entry points the CPU has the enabled features.
        $(#[target_feature(enable = $feat)])?
        unsafe fn $name(kc: usize, a: *const f32, a_rs: usize, a_cs: usize, b: *const f32, b_ks: usize, t: &Tile) {
            // SAFETY: forwarded contract.
            unsafe { micro::<$simd, $mr, $nv, $pa, $as>(kc, a, a_rs, a_cs, b, b_ks, t) }
        }
    };
}

macro_rules! taps_entry {
    ($name:ident, $simd:ty, $mr:literal, $nv:literal $(, $feat:literal)?) => {
        taps_entry!($name, $simd, $mr, $nv, step $mr $(, $feat)?);
    };
    ($name:ident, $simd:ty, $mr:literal, $nv:literal, step $as:literal $(, $feat:literal)?) => {
        /// Multi-tap micro-kernel entry point (see [`TapsFn`]).
        ///
        /// # Safety
        /// The contract of `micro_taps`; for x86 entry points the CPU has the enabled features.
        $(#[target_feature(enable = $feat)])?
        unsafe fn $name(offs: *const usize, ntaps: usize, k: usize, a: *const f32, b: *const f32, plane: usize, t: &Tile) {
            // SAFETY: forwarded contract.
            unsafe { micro_taps::<$simd, $mr, $nv, $as>(offs, ntaps, k, a, b, plane, t) }
        }
    };
}

macro_rules! taps_t_entry {
    ($name:ident, $simd:ty, $mr:literal, $nv:literal $(, $feat:literal)?) => {
        /// Positions-as-rows multi-tap entry point (see [`TapsTFn`]).
        ///
        /// # Safety
        /// The contract of `micro_taps_t`; for x86 entry points the CPU has the enabled features.
        $(#[target_feature(enable = $feat)])?
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name(offs: *const usize, ntaps: usize, k: usize, a: *const f32, plane: usize, b: *const f32, t: &Tile, pf: *const f32) {
            // SAFETY: forwarded contract.
            unsafe { micro_taps_t::<$simd, $mr, $nv>(offs, ntaps, k, a, plane, b, t, pf) }
        }
    };
}

entry!(generic_packed, Portable, 4, 1, true);
taps_t_entry!(generic_taps_t, Portable, 4, 1);
taps_entry!(generic_taps, Portable, 4, 1);
entry!(generic_plain1, Portable, 1, 1, false);
entry!(generic_plain2, Portable, 2, 1, false);
entry!(generic_plain3, Portable, 3, 1, false);
entry!(generic_plain4, Portable, 4, 1, false);

/// Portable 4 × 8 kernel.
pub(crate) static GENERIC: Arch = Arch {
    mr: 4,
    nr: 8,
    kc: 256,
    mc: 128,
    nc: 4096,
    packed: generic_packed,
    packed_short: &[],
    plain: &[generic_plain1, generic_plain2, generic_plain3, generic_plain4],
    taps: generic_taps,
    taps_short: &[],
    taps_t: &[(4, generic_taps_t)],
};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::simd::{Avx2, Avx512};
    use super::{micro, micro_taps, micro_taps_t, Arch, Tile};

    entry!(avx2_packed, Avx2, 6, 2, true, "avx2,fma");
    entry!(avx2_packed3, Avx2, 3, 2, true, step 6, "avx2,fma");
    taps_entry!(avx2_taps, Avx2, 6, 2, "avx2,fma");
    taps_entry!(avx2_taps3, Avx2, 3, 2, step 6, "avx2,fma");
    taps_entry!(avx512_taps, Avx512, 12, 2, "avx512f");
    taps_entry!(avx512_taps4, Avx512, 4, 2, step 12, "avx512f");
    taps_entry!(avx512_taps8, Avx512, 8, 2, step 12, "avx512f");
    taps_t_entry!(avx2_taps_t4, Avx2, 4, 2, "avx2,fma");
    taps_t_entry!(avx2_taps_t5, Avx2, 5, 2, "avx2,fma");
    taps_t_entry!(avx2_taps_t6, Avx2, 6, 2, "avx2,fma");
    taps_t_entry!(avx512_taps_t4, Avx512, 4, 2, "avx512f");
    taps_t_entry!(avx512_taps_t5, Avx512, 5, 2, "avx512f");
    taps_t_entry!(avx512_taps_t6, Avx512, 6, 2, "avx512f");
    taps_t_entry!(avx512_taps_t7, Avx512, 7, 2, "avx512f");
    taps_t_entry!(avx512_taps_t8, Avx512, 8, 2, "avx512f");
    taps_t_entry!(avx512_taps_t9, Avx512, 9, 2, "avx512f");
    taps_t_entry!(avx512_taps_t10, Avx512, 10, 2, "avx512f");
    taps_t_entry!(avx512_taps_t11, Avx512, 11, 2, "avx512f");
    taps_t_entry!(avx512_taps_t12, Avx512, 12, 2, "avx512f");
    entry!(avx2_plain1, Avx2, 1, 2, false, "avx2,fma");
    entry!(avx2_plain2, Avx2, 2, 2, false, "avx2,fma");
    entry!(avx2_plain3, Avx2, 3, 2, false, "avx2,fma");
    entry!(avx2_plain4, Avx2, 4, 2, false, "avx2,fma");
    entry!(avx2_plain5, Avx2, 5, 2, false, "avx2,fma");
    entry!(avx2_plain6, Avx2, 6, 2, false, "avx2,fma");
    entry!(avx512_packed, Avx512, 12, 2, true, "avx512f");
    entry!(avx512_packed4, Avx512, 4, 2, true, step 12, "avx512f");
    entry!(avx512_packed8, Avx512, 8, 2, true, step 12, "avx512f");
    entry!(avx512_plain2, Avx512, 2, 2, false, "avx512f");
    entry!(avx512_plain4, Avx512, 4, 2, false, "avx512f");
    entry!(avx512_plain6, Avx512, 6, 2, false, "avx512f");
    entry!(avx512_plain8, Avx512, 8, 2, false, "avx512f");
    entry!(avx512_plain10, Avx512, 10, 2, false, "avx512f");
    entry!(avx512_plain12, Avx512, 12, 2, false, "avx512f");

    /// AVX2+FMA 6 × 16 kernel (12 ymm accumulators).
    pub(crate) static AVX2: Arch = Arch {
        mr: 6,
        nr: 16,
        kc: 256,
        mc: 144,
        nc: 4096,
        packed: avx2_packed,
        packed_short: &[(3, avx2_packed3)],
        plain: &[
            avx2_plain1,
            avx2_plain2,
            avx2_plain3,
            avx2_plain4,
            avx2_plain5,
            avx2_plain6,
        ],
        taps: avx2_taps,
        taps_short: &[(3, avx2_taps3)],
        taps_t: &[(4, avx2_taps_t4), (5, avx2_taps_t5), (6, avx2_taps_t6)],
    };

    /// AVX-512F 12 × 32 kernel (24 zmm accumulators).
    pub(crate) static AVX512: Arch = Arch {
        mr: 12,
        nr: 32,
        kc: 192,
        mc: 144,
        nc: 4096,
        packed: avx512_packed,
        // Four rows keep 8 FMA chains in flight (the FMA latency × issue width), so fewer rows
        // would not run faster.
        packed_short: &[(4, avx512_packed4), (8, avx512_packed8)],
        // Odd row counts use the next even kernel (its extra row re-reads row 0, never stored).
        plain: &[
            avx512_plain2,
            avx512_plain2,
            avx512_plain4,
            avx512_plain4,
            avx512_plain6,
            avx512_plain6,
            avx512_plain8,
            avx512_plain8,
            avx512_plain10,
            avx512_plain10,
            avx512_plain12,
            avx512_plain12,
        ],
        taps: avx512_taps,
        taps_short: &[(4, avx512_taps4), (8, avx512_taps8)],
        // Every row count from 4 up: output rows are split into near-equal tiles (14 = 7 + 7),
        // each run by a kernel of exactly its height.
        taps_t: &[
            (4, avx512_taps_t4),
            (5, avx512_taps_t5),
            (6, avx512_taps_t6),
            (7, avx512_taps_t7),
            (8, avx512_taps_t8),
            (9, avx512_taps_t9),
            (10, avx512_taps_t10),
            (11, avx512_taps_t11),
            (12, avx512_taps_t12),
        ],
    };
}
#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{AVX2, AVX512};
