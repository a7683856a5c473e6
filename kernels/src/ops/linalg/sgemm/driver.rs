//! The blocked driver (KC / MC / NC loops around the micro-kernel), the skinny `m ≤ 16` path and
//! their rayon parallelisation over the current pool.

use super::super::gemm::MatRef;
use super::kernel::{Arch, Tile};
use super::pack::{pack_a_block, pack_b_block, pack_b_panel, with_scratch, Scratch};
use super::{Bias, Epilogue};
use rayon::prelude::*;

/// Problems below this many flops run on the calling thread (no fork / join).
const PAR_MIN_FLOPS: f64 = 2.0e6;

/// Rows up to this take the skinny path (no A packing, B panels read in place).
const SKINNY_M: usize = 16;

/// The left operand as the driver sees it.
#[derive(Clone, Copy)]
pub(crate) enum ASrc<'a> {
    /// A validated strided view.
    Plain(MatRef<'a, f32>),
    /// Packed `mr`-row panels over the whole K (panel `ip` at `ip·k·mr`).
    Packed(&'a [f32]),
}

/// The right operand as the driver sees it.
#[derive(Clone, Copy)]
pub(crate) enum BSrc<'a> {
    /// A validated strided view.
    Plain(MatRef<'a, f32>),
    /// Packed `nr`-column panels over the whole K (panel `jp` at `jp·k·nr`).
    Packed(&'a [f32]),
}

/// One validated problem.
struct Ctx<'a> {
    arch: &'static Arch,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    beta: f32,
    a: ASrc<'a>,
    b: BSrc<'a>,
    c: *mut f32,
    ldc: usize,
    epi: &'a Epilogue<'a>,
}

// SAFETY: the only non-Sync field is `c`; every parallel task writes a disjoint set of C tiles
// (distinct row blocks or distinct column panels), and C is exclusively borrowed for the call.
unsafe impl Sync for Ctx<'_> {}

impl Ctx<'_> {
    /// The write-back descriptor of the tile at (i0, j0). Pointers are only formed here
    /// (wrapping arithmetic); the kernel dereferences them within the validated bounds.
    #[allow(clippy::too_many_arguments)]
    fn tile(&self, i0: usize, j0: usize, mv: usize, nv: usize, first: bool, last: bool) -> Tile {
        let null = std::ptr::null();
        let (bias_row, bias_col) = match self.epi.bias {
            Bias::None => (null, null),
            Bias::Row(v) => (v.as_ptr().wrapping_add(i0), null),
            Bias::Col(v) => (null, v.as_ptr().wrapping_add(j0)),
        };
        let (res, res_rs) = match self.epi.residual {
            Some((r, rs)) => (r.as_ptr().wrapping_add(i0 * rs + j0), rs),
            None => (null, 0),
        };
        Tile {
            c: self.c.wrapping_add(i0 * self.ldc + j0),
            ldc: self.ldc,
            mv,
            nv,
            alpha: self.alpha,
            beta: self.beta,
            first,
            last,
            bias_row,
            bias_col,
            res,
            res_rs,
            act: self.epi.act,
        }
    }
}

/// Run a validated problem (`m, n > 0`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    arch: &'static Arch,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: ASrc,
    b: BSrc,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    epi: &Epilogue,
) {
    if k == 0 {
        epilogue_only(m, n, beta, c, ldc, epi);
        return;
    }
    let flops = 2.0 * m as f64 * k as f64 * n as f64;
    let nt = if flops < PAR_MIN_FLOPS {
        1
    } else {
        rayon::current_num_threads().max(1)
    };
    let x = Ctx {
        arch,
        m,
        k,
        n,
        alpha,
        beta,
        a,
        b,
        c: c.as_mut_ptr(),
        ldc,
        epi,
    };
    if m <= SKINNY_M {
        skinny(&x, nt);
    } else {
        general(&x, nt);
    }
}

/// `k == 0`: C = act(beta·C + bias + residual).
fn epilogue_only(m: usize, n: usize, beta: f32, c: &mut [f32], ldc: usize, epi: &Epilogue) {
    for i in 0..m {
        for j in 0..n {
            let old = &mut c[i * ldc + j];
            let mut x = if beta == 0.0 { 0.0 } else { beta * *old };
            x += match epi.bias {
                Bias::None => 0.0,
                Bias::Row(v) => v[i],
                Bias::Col(v) => v[j],
            };
            if let Some((r, rs)) = epi.residual {
                x += r[i * rs + j];
            }
            *old = epi.act.apply(x);
        }
    }
}

/// Chunks `(u, p)` of `units` tiles (at least `units.start()` chunks) and `np` panels for about
/// `target` tasks (at least that many where there are enough), the split that reads the least:
/// every tile chunk reads all the panels of its panel chunk and every panel chunk all the tiles
/// of its tile chunk, so the operands are read `u·n + p·m` times over, `m` and `n` being the
/// sizes of the tile and the panel side. Few positions and many channels (7×7 stages) split the
/// weights; many positions and few channels split the positions.
fn split_tasks(
    units: std::ops::RangeInclusive<usize>,
    np: usize,
    target: usize,
    (m, n): (usize, usize),
) -> (usize, usize) {
    let (lo, hi) = (*units.start(), *units.end());
    let enough = target.min(hi * np).max(lo);
    (1..=np.min(target))
        .map(|p| (hi.min(target.div_ceil(p)).max(lo), p))
        .filter(|&(u, p)| u * p >= enough)
        .min_by_key(|&(u, p)| u * n + p * m)
        .unwrap_or((hi.min(target).max(lo), 1))
}

/// Run `count` tasks, in parallel when `nt > 1`.
fn for_tasks(nt: usize, count: usize, f: impl Fn(usize) + Sync + Send) {
    if nt > 1 && count > 1 {
        (0..count).into_par_iter().for_each(f);
    } else {
        (0..count).for_each(f);
    }
}

/// Blocked path: for each NC column block and KC depth block, pack B once (shared) — or, when A
/// is one row block and B is row-major, read B's full `nr`-column panels in place and pack only
/// a partial last one — then run (row block × column chunk) tasks that each pack their A block and sweep the
/// micro-tiles.
fn general(x: &Ctx, nt: usize) {
    let ar = x.arch;
    let nr = ar.nr;
    for jc in (0..x.n).step_by(ar.nc) {
        let nc = ar.nc.min(x.n - jc);
        let np = nc.div_ceil(nr);
        for pc in (0..x.k).step_by(ar.kc) {
            let kc = ar.kc.min(x.k - pc);
            let blk = Block {
                jc,
                nc,
                pc,
                kc,
                first: pc == 0,
                last: pc + kc == x.k,
            };
            match x.b {
                BSrc::Packed(d) => {
                    let data = &d[(jc / nr) * x.k * nr + pc * nr..];
                    macro_block(x, nt, &blk, &Panels::Packed { data, stride: x.k * nr });
                }
                // With one row block of A, each B panel is read once per K block: packing it would
                // only add a copy (1×1 convs with few output channels).
                BSrc::Plain(bm) if bm.cs == 1 && x.m <= ar.mc => {
                    let full = nc / nr;
                    let tail = nc - full * nr;
                    with_scratch(Scratch::B, if tail > 0 { kc * nr } else { 0 }, |buf| {
                        if tail > 0 {
                            pack_b_panel(buf, &bm, pc, kc, jc + full * nr, tail, nr);
                        }
                        let start = bm.off + pc * bm.rs + jc;
                        macro_block(
                            x,
                            nt,
                            &blk,
                            &Panels::InPlace {
                                b: &bm.data[start..],
                                rs: bm.rs,
                                full,
                                tail: buf,
                            },
                        );
                    })
                }
                BSrc::Plain(bm) => with_scratch(Scratch::B, np * kc * nr, |buf| {
                    if nt > 1 && np > 1 {
                        // Disjoint ranges of panels, packed in parallel.
                        let per = np.div_ceil((2 * nt).min(np));
                        buf.par_chunks_mut(per * kc * nr).enumerate().for_each(|(ci, dst)| {
                            let j0 = ci * per * nr;
                            pack_b_block(dst, &bm, pc, kc, jc + j0, (nc - j0).min(per * nr), nr);
                        });
                    } else {
                        pack_b_block(buf, &bm, pc, kc, jc, nc, nr);
                    }
                    macro_block(
                        x,
                        nt,
                        &blk,
                        &Panels::Packed {
                            data: buf,
                            stride: kc * nr,
                        },
                    );
                }),
            }
        }
    }
}

/// The B micro-panels of one (NC, KC) block.
enum Panels<'a> {
    /// Packed panels, `stride` floats apart, rows `nr` floats apart.
    Packed { data: &'a [f32], stride: usize },
    /// Row-major B from the block's first element: panels `jp < full` are read in place (rows
    /// `rs` apart); the partial panel `full` is packed in `tail`.
    InPlace {
        b: &'a [f32],
        rs: usize,
        full: usize,
        tail: &'a [f32],
    },
}

impl Panels<'_> {
    /// Panel `jp`'s first element and row step.
    fn panel(&self, jp: usize, nr: usize) -> (*const f32, usize) {
        match *self {
            Panels::Packed { data, stride } => (data[jp * stride..].as_ptr(), nr),
            Panels::InPlace { b, rs, full, .. } if jp < full => (b[jp * nr..].as_ptr(), rs),
            Panels::InPlace { tail, .. } => (tail.as_ptr(), nr),
        }
    }
}

/// Position of one (NC, KC) block.
struct Block {
    jc: usize,
    nc: usize,
    pc: usize,
    kc: usize,
    first: bool,
    last: bool,
}

/// Sweep one block of B panels with every row block of A.
fn macro_block(x: &Ctx, nt: usize, blk: &Block, panels_b: &Panels) {
    let ar = x.arch;
    let (mr, nr) = (ar.mr, ar.nr);
    let np = blk.nc.div_ceil(nr);
    // Row blocks of at most about mc rows (boundaries on mr), and column chunks, for about 4nt
    // tasks: each row block reads every B panel of its chunk, each chunk every A row.
    let target = if nt > 1 { 4 * nt } else { 1 };
    let rows = x.m.div_ceil(mr);
    let (mb, nch) = split_tasks(x.m.div_ceil(ar.mc).min(rows)..=rows, np, target, (x.m, blk.nc));
    let per = np.div_ceil(nch);
    let nch = np.div_ceil(per);
    match x.a {
        // Several column chunks would each pack the same A rows: pack the block once, shared.
        ASrc::Plain(am) if nch > 1 => {
            let panels = x.m.div_ceil(mr);
            with_scratch(Scratch::A, panels * blk.kc * mr, |buf| {
                let per_task = panels.div_ceil(2 * nt);
                buf.par_chunks_mut(per_task * blk.kc * mr)
                    .enumerate()
                    .for_each(|(ci, dst)| {
                        let r0 = ci * per_task * mr;
                        pack_a_block(dst, &am, r0, (per_task * mr).min(x.m - r0), blk.pc, blk.kc, mr);
                    });
                sweep_tasks(x, nt, blk, panels_b, (mb, nch, per), Some(&*buf));
            })
        }
        _ => sweep_tasks(x, nt, blk, panels_b, (mb, nch, per), None),
    }
}

/// The (row block × column chunk) tasks of [`macro_block`]; `shared_a` is the whole A block
/// packed once, else each task packs its rows.
fn sweep_tasks(
    x: &Ctx,
    nt: usize,
    blk: &Block,
    panels: &Panels,
    (mb, nch, per): (usize, usize, usize),
    shared_a: Option<&[f32]>,
) {
    let ar = x.arch;
    let (mr, nr) = (ar.mr, ar.nr);
    let np = blk.nc.div_ceil(nr);
    let bound = |b: usize| if b == mb { x.m } else { (b * x.m / mb) / mr * mr };
    for_tasks(nt, mb * nch, |t| {
        let (i0, i1) = (bound(t / nch), bound(t / nch + 1));
        if i0 == i1 {
            return;
        }
        let (jp0, jp1) = ((t % nch) * per, ((t % nch + 1) * per).min(np));
        let sweep = |apan: &[f32], a_stride: usize| {
            for jp in jp0..jp1 {
                let j0 = blk.jc + jp * nr;
                let nv = nr.min(x.n - j0);
                let (bp, b_ks) = panels.panel(jp, nr);
                for (ip, r0) in (i0..i1).step_by(mr).enumerate() {
                    let mv = mr.min(i1 - r0);
                    let t = x.tile(r0, j0, mv, nv, blk.first, blk.last);
                    // SAFETY: the A panel has kc·mr floats at ip·a_stride (packed, zero padded);
                    // B has kc rows of nr readable floats at bp + p·b_ks (a packed panel, or a
                    // full panel of the validated row-major B); the tile lies inside the
                    // validated C / bias / residual, and no other task writes it.
                    unsafe { (ar.packed_for(mv))(blk.kc, apan[ip * a_stride..].as_ptr(), 0, 0, bp, b_ks, &t) };
                }
            }
        };
        match (x.a, shared_a) {
            (ASrc::Packed(d), _) => sweep(&d[(i0 / mr) * x.k * mr + blk.pc * mr..], x.k * mr),
            (ASrc::Plain(_), Some(buf)) => sweep(&buf[(i0 / mr) * blk.kc * mr..], blk.kc * mr),
            (ASrc::Plain(am), None) => {
                let len = (i1 - i0).div_ceil(mr) * blk.kc * mr;
                with_scratch(Scratch::A, len, |buf| {
                    pack_a_block(buf, &am, i0, i1 - i0, blk.pc, blk.kc, mr);
                    sweep(buf, blk.kc * mr)
                });
            }
        }
    });
}

/// Skinny path (`m ≤ 16`): no A packing, the whole K in one pass, B panels read in place when
/// packed or row-major; parallel over column-panel chunks.
fn skinny(x: &Ctx, nt: usize) {
    let ar = x.arch;
    let (mr, nr) = (ar.mr, ar.nr);
    let np = x.n.div_ceil(nr);
    let chunks = if nt > 1 { (4 * nt).min(np) } else { 1 };
    let per = np.div_ceil(chunks);
    for_tasks(nt, np.div_ceil(per), |ci| {
        for jp in ci * per..((ci + 1) * per).min(np) {
            let j0 = jp * nr;
            let nv = nr.min(x.n - j0);
            let rows = |bp: *const f32, b_ks: usize| {
                for r0 in (0..x.m).step_by(mr) {
                    let mv = mr.min(x.m - r0);
                    let t = x.tile(r0, j0, mv, nv, true, true);
                    // SAFETY: B has k rows of nr readable floats at bp + p·b_ks (packed panel,
                    // full in-bounds row-major panel, or packed scratch); A rows r0.. are either a
                    // packed panel of k·mr floats or validated strided rows (only rows < m are
                    // read); the tile lies inside the validated C / bias / residual, and no other
                    // task writes its columns.
                    unsafe {
                        match x.a {
                            ASrc::Packed(d) => {
                                (ar.packed_for(mv))(x.k, d[(r0 / mr) * x.k * mr..].as_ptr(), 0, 0, bp, b_ks, &t)
                            }
                            ASrc::Plain(am) => {
                                let ap = am.data.as_ptr().wrapping_add(am.off + r0 * am.rs);
                                (ar.plain[mv - 1])(x.k, ap, am.rs, am.cs, bp, b_ks, &t)
                            }
                        }
                    }
                }
            };
            match x.b {
                BSrc::Packed(d) => rows(d[jp * x.k * nr..].as_ptr(), nr),
                BSrc::Plain(bm) if bm.cs == 1 && nv == nr => rows(bm.data[bm.off + j0..].as_ptr(), bm.rs),
                BSrc::Plain(bm) => with_scratch(Scratch::A, x.k * nr, |buf| {
                    pack_b_panel(buf, &bm, 0, x.k, j0, nv, nr);
                    rows(buf.as_ptr(), nr)
                }),
            }
        }
    });
}

/// The validated problem of [`super::sgemm_taps`]: `a` is the packed `m × (taps·k)` left
/// operand (whole-K `mr`-row panels, taps one after another); the right operands are read in
/// place through `grid`.
pub(crate) struct TapsProblem<'a> {
    pub m: usize,
    pub k: usize,
    pub a: &'a [f32],
    pub grid: &'a super::TapGrid<'a>,
}

/// Run a validated multi-tap product: tasks over (row-panel block, output positions) chunks;
/// each C tile accumulates every tap in registers and is written once with the epilogue.
pub(crate) fn run_taps(arch: &'static Arch, p: &TapsProblem, c: &mut [f32], ldc: usize, epi: &Epilogue, nt: usize) {
    let (mr, nr) = (arch.mr, arch.nr);
    let g = p.grid;
    let ntaps = g.offsets.len();
    let kt = ntaps * p.k;
    let x = Ctx {
        arch,
        m: p.m,
        k: kt,
        n: g.rows * g.cols,
        alpha: 1.0,
        beta: 0.0,
        a: ASrc::Packed(p.a),
        b: BSrc::Packed(&[]),
        c: c.as_mut_ptr(),
        ldc,
        epi,
    };
    let per_row = g.cols.div_ceil(nr);
    let units = g.rows * per_row;
    // Row blocks keep their A panels (mc · taps · k floats) within about 192 KiB of L2.
    let mc = ((48 * 1024) / kt.max(1)).max(mr) / mr * mr;
    let mb = p.m.div_ceil(mc);
    let chunks = if nt > 1 { (4 * nt).div_ceil(mb).min(units) } else { 1 };
    let per = units.div_ceil(chunks);
    let chunks = units.div_ceil(per);
    for_tasks(nt, mb * chunks, |task| {
        let (i0, i1) = ((task / chunks) * mc, ((task / chunks + 1) * mc).min(p.m));
        let (u0, u1) = ((task % chunks) * per, ((task % chunks + 1) * per).min(units));
        for u in u0..u1 {
            let (r, jp) = (u / per_row, u % per_row);
            let col = jp * nr;
            let nv = nr.min(g.cols - col);
            let bp = g.data[r * g.row_step + col..].as_ptr();
            for r0 in (i0..i1).step_by(mr) {
                let mv = mr.min(i1 - r0);
                let tile = x.tile(r0, r * g.cols + col, mv, nv, true, true);
                // SAFETY: panel r0/mr of A has kt·mr floats (validated packing); every tap's B
                // rows `bp + offsets[t] + q·plane` (q < k) have nr readable floats (validated
                // against the grid's extent); the tile lies in the validated C / bias /
                // residual and no other task writes it.
                unsafe {
                    (arch.taps_for(mv))(
                        g.offsets.as_ptr(),
                        ntaps,
                        p.k,
                        p.a[(r0 / mr) * kt * mr..].as_ptr(),
                        bp,
                        g.plane,
                        &tile,
                    )
                };
            }
        }
    });
}

/// The validated problem of [`super::sgemm_taps_t`]: `b` is the packed `(taps·k) × n` right
/// operand (whole-K `nr`-column panels, taps one after another); the left operands (positions
/// as rows) are read in place through `grid`.
pub(crate) struct TapsTProblem<'a> {
    pub n: usize,
    pub k: usize,
    pub b: &'a [f32],
    pub grid: &'a super::TapGrid<'a>,
}

/// How an output row of `cols` positions splits into tiles of at most `mr` rows: `(tiles,
/// base, extra)`, tile `i` holding `base + (i < extra)` positions from `i·base + min(i, extra)`.
pub(crate) fn row_tiles(cols: usize, mr: usize) -> (usize, usize, usize) {
    let tiles = cols.div_ceil(mr.max(1)).max(1);
    (tiles, cols / tiles, cols % tiles)
}

/// Run a validated positions-as-rows multi-tap product: tasks over (position tiles, B panels)
/// chunks; each B panel stays in cache while the task's position tiles sweep it, and each C tile
/// accumulates every tap in registers and is written once with the epilogue (or, for short
/// tiles of a large panel, once per pass over a share of the taps: [`taps_per_pass`]).
pub(crate) fn run_taps_t(arch: &'static Arch, p: &TapsTProblem, c: &mut [f32], ldc: usize, epi: &Epilogue, nt: usize) {
    let nr = arch.nr;
    let g = p.grid;
    let ntaps = g.offsets.len();
    let kt = ntaps * p.k;
    let x = Ctx {
        arch,
        m: g.rows * g.cols,
        k: kt,
        n: p.n,
        alpha: 1.0,
        beta: 0.0,
        a: ASrc::Packed(&[]),
        b: BSrc::Packed(p.b),
        c: c.as_mut_ptr(),
        ldc,
        epi,
    };
    let (per_row, base, extra) = row_tiles(g.cols, arch.mr);
    let units = g.rows * per_row;
    let np = p.n.div_ceil(nr);
    let target = if nt > 1 { 4 * nt } else { 1 };
    let (uch, pch) = split_tasks(1..=units, np, target, (x.m, p.n));
    let (uper, pper) = (units.div_ceil(uch), np.div_ceil(pch));
    let (uch, pch) = (units.div_ceil(uper), np.div_ceil(pper));
    for_tasks(nt, uch * pch, |task| {
        let (u0, u1) = ((task / pch) * uper, ((task / pch + 1) * uper).min(units));
        let (jp0, jp1) = ((task % pch) * pper, ((task % pch + 1) * pper).min(np));
        let panel = kt * nr;
        let per_pass = taps_per_pass(ntaps, p.k, nr, (base, u1 - u0), g.data.len() * 4);
        let passes = ntaps.div_ceil(per_pass);
        for jp in jp0..jp1 {
            let j0 = jp * nr;
            let nv = nr.min(p.n - j0);
            let bp = p.b[jp * panel..].as_ptr();
            // The tiles of this panel prefetch the next one, each its share (weights streamed
            // from memory then arrive spread over the panel's work instead of stalling the
            // next panel's first tile).
            let next = if jp + 1 < jp1 {
                p.b[(jp + 1) * panel..].as_ptr()
            } else {
                bp
            };
            let share = panel / (u1 - u0).max(1);
            for pass in 0..passes {
                let (t0, t1) = (pass * per_pass, ((pass + 1) * per_pass).min(ntaps));
                for u in u0..u1 {
                    let (r, ti) = (u / per_row, u % per_row);
                    let col = ti * base + ti.min(extra);
                    let mv = base + usize::from(ti < extra);
                    let (_, kern) = arch.taps_t_for(mv);
                    let tile = x.tile(r * g.cols + col, j0, mv, nv, pass == 0, pass + 1 == passes);
                    // SAFETY: panel jp of B has kt·nr floats (validated packing), the rows of
                    // taps t0..t1 starting t0·k·nr floats in; every tap's A
                    // values `a + offsets[t] + q·plane + i` (q < k, i below the kernel's rows) lie in
                    // the grid (validated against its extent and the kernels' over-read); the tile
                    // lies in the validated C / bias / residual and no other task writes it.
                    unsafe {
                        kern(
                            g.offsets[t0..].as_ptr(),
                            t1 - t0,
                            p.k,
                            g.data[r * g.row_step + col..].as_ptr(),
                            g.plane,
                            bp.add(t0 * p.k * nr),
                            &tile,
                            next.wrapping_add((u - u0) * share),
                        )
                    };
                }
            }
        }
    });
}

/// Bytes of B rows a pass over a panel's tiles keeps in L1 (two thirds of a 48 KiB L1D, the
/// rest for the tiles' image lines).
const L1_B_BYTES: usize = 32 << 10;

/// Taps per pass of [`run_taps_t`] over a panel's `tiles` tiles of `tile_rows` positions, for
/// an image of `image_bytes`. Short tiles (fewer than 9 positions, as the 14×14 stages give) do
/// too few multiply-adds per B row to stream a large panel (over 192 KiB) from L2 for each
/// tile, so their taps are split into passes whose B rows stay in L1 while every tile reads
/// them, the tiles accumulating in C between passes. That pays when there are enough tiles to
/// share the rows (16), when one tap's rows fit the L1 budget and when the image, read once
/// per pass, stays in L2 (512 KiB; a stride-2 image is four times its output's size).
fn taps_per_pass(ntaps: usize, k: usize, nr: usize, (tile_rows, tiles): (usize, usize), image_bytes: usize) -> usize {
    let tap_bytes = (k * nr * 4).max(1);
    let short_and_many = tile_rows < 9 && tiles >= 16;
    if !short_and_many || ntaps * tap_bytes <= 192 << 10 || tap_bytes > L1_B_BYTES || image_bytes > 512 << 10 {
        return ntaps;
    }
    (L1_B_BYTES / tap_bytes).clamp(1, ntaps)
}

#[cfg(test)]
mod tests {
    use super::split_tasks;

    #[test]
    fn only_short_tiles_of_large_panels_split_their_taps_into_passes() {
        use super::taps_per_pass;
        // resnet50's 14×14 3×3 (256 channels, 32-wide panels of 9 × 32 KiB, 28 tiles of 7,
        // a 262 KiB image): one tap per pass.
        assert_eq!(taps_per_pass(9, 256, 32, (7, 28), 262 << 10), 1);
        // A 5×5 over 128 channels: two taps' rows fit the L1 budget.
        assert_eq!(taps_per_pass(25, 128, 32, (7, 28), 131 << 10), 2);
        // Tall tiles, few tiles, a small panel, a tap over the budget, a large (stride-2) image:
        // one pass.
        assert_eq!(taps_per_pass(9, 256, 32, (12, 28), 262 << 10), 9);
        assert_eq!(taps_per_pass(9, 256, 32, (7, 7), 262 << 10), 9);
        assert_eq!(taps_per_pass(9, 128, 32, (7, 28), 131 << 10), 9);
        assert_eq!(taps_per_pass(9, 512, 32, (7, 28), 262 << 10), 9);
        assert_eq!(taps_per_pass(9, 256, 32, (7, 28), 921 << 10), 9);
    }

    #[test]
    fn task_splits_read_the_smaller_operand_more_often() {
        // resnet50's 7×7 stage: 7 position tiles, 512 channels in 16 panels, 8 tasks wanted:
        // the weights are split, each read once.
        assert_eq!(split_tasks(1..=7, 16, 8, (49, 512)), (1, 8));
        // A 56×56 stage with 64 channels: the positions are split.
        assert_eq!(split_tasks(1..=56, 2, 8, (3136, 64)), (8, 1));
        // Balanced shapes split both ways; every split has the tasks asked for when possible.
        let (u, p) = split_tasks(1..=14, 8, 8, (196, 256));
        assert!(u > 1 && p > 1 && u * p >= 8, "{u} {p}");
        // Too little work for the target: all of it, one task per tile and panel.
        assert_eq!(split_tasks(1..=2, 1, 8, (20, 32)), (2, 1));
        // A lower bound on the tile chunks (row blocks that fit the cache) holds.
        assert_eq!(split_tasks(3..=22, 98, 8, (256, 3136)), (3, 3));
        assert_eq!(split_tasks(3..=22, 98, 1, (256, 3136)), (3, 1));
        // One thread: one task.
        assert_eq!(split_tasks(1..=7, 16, 1, (49, 512)), (1, 1));
    }
}
