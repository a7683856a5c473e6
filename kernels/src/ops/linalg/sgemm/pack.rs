//! Packing of A and B into micro-panels, the prepacked operand types, and the grow-only
//! shared scratch buffers the blocked driver packs into.

use super::super::gemm::{check_view, MatRef};
use super::{arch_of, Isa};
use crate::error::{KernelError, Result};
use crate::util::copy_short;

impl crate::buffers::ScratchValue for AlignedBuf {
    fn size(&self) -> usize {
        self.v.len()
    }
}

/// A grow-only f32 buffer whose usable part starts on a 64-byte boundary.
#[derive(Default)]
pub(crate) struct AlignedBuf {
    v: Vec<f32>,
    off: usize,
    len: usize,
}

impl AlignedBuf {
    /// A zeroed buffer of `len` floats.
    pub(crate) fn zeroed(len: usize) -> Self {
        let mut b = AlignedBuf::default();
        b.ensure(len);
        b
    }
    /// Make room for `len` floats (reallocating only when the capacity is too small).
    fn ensure(&mut self, len: usize) {
        if self.v.len() < len + 16 {
            self.v = vec![0.0; len + 16];
            let addr = self.v.as_ptr() as usize;
            self.off = ((64 - addr % 64) % 64) / 4;
        }
        self.len = len;
    }
    /// The usable floats.
    pub(crate) fn as_slice(&self) -> &[f32] {
        &self.v[self.off..self.off + self.len]
    }
    /// The usable floats, mutably.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.v[self.off..self.off + self.len]
    }
}

static SCRATCH_A: crate::buffers::Scratch<AlignedBuf> = crate::buffers::Scratch::new();
static SCRATCH_B: crate::buffers::Scratch<AlignedBuf> = crate::buffers::Scratch::new();
static SCRATCH_COLS: crate::buffers::Scratch<AlignedBuf> = crate::buffers::Scratch::new();

/// Which kind of scratch buffer to borrow.
#[derive(Clone, Copy)]
pub(crate) enum Scratch {
    /// Packed A blocks (one per worker).
    A,
    /// Packed B blocks (held by the calling thread across a parallel region).
    B,
    /// B panels written by a caller (convolution's im2col) around a whole product.
    Cols,
}

/// Run `f` on `len` floats of a 64-byte-aligned scratch buffer of kind `which` (contents
/// unspecified). Every concurrent or nested use (a rayon worker stealing another GEMM while it
/// waits) has its own buffer; buffers are shared between threads and only grow (see
/// [`crate::buffers::with_scratch`]).
pub(crate) fn with_scratch<R>(which: Scratch, len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let key = match which {
        Scratch::A => &SCRATCH_A,
        Scratch::B => &SCRATCH_B,
        Scratch::Cols => &SCRATCH_COLS,
    };
    crate::buffers::with_scratch(key, len + 16, |buf| {
        buf.ensure(len);
        f(buf.as_mut_slice())
    })
}

/// Pack rows `i0..i0+mc`, columns `p0..p0+kc` of `a` into `mr`-row micro-panels: panel `ip`
/// holds element `(i0 + ip·mr + i, p0 + p)` at `ip·kc·mr + p·mr + i`, rows past `mc` zero.
pub(crate) fn pack_a_block(dst: &mut [f32], a: &MatRef<f32>, i0: usize, mc: usize, p0: usize, kc: usize, mr: usize) {
    for (ip, panel) in dst.chunks_exact_mut(kc * mr).take(mc.div_ceil(mr)).enumerate() {
        let r0 = i0 + ip * mr;
        let mv = mr.min(i0 + mc - r0);
        if a.cs == 1 {
            for i in 0..mv {
                let start = a.off + (r0 + i) * a.rs + p0;
                let src = &a.data[start..start + kc];
                for (d, s) in panel.chunks_exact_mut(mr).zip(src) {
                    d[i] = *s;
                }
            }
        } else if a.rs == 1 {
            for (p, d) in panel.chunks_exact_mut(mr).enumerate() {
                let start = a.off + r0 + (p0 + p) * a.cs;
                copy_short(&mut d[..mv], &a.data[start..start + mv]);
            }
        } else {
            for (p, d) in panel.chunks_exact_mut(mr).enumerate() {
                for (i, x) in d.iter_mut().enumerate().take(mv) {
                    *x = a.data[a.off + (r0 + i) * a.rs + (p0 + p) * a.cs];
                }
            }
        }
        if mv < mr {
            for d in panel.chunks_exact_mut(mr) {
                d[mv..].fill(0.0);
            }
        }
    }
}

/// Pack rows `p0..p0+kc`, columns `j0..j0+nc` of `b` into `nr`-column micro-panels: panel `jp`
/// holds element `(p0 + p, j0 + jp·nr + j)` at `jp·kc·nr + p·nr + j`, columns past `nc` zero.
pub(crate) fn pack_b_block(dst: &mut [f32], b: &MatRef<f32>, p0: usize, kc: usize, j0: usize, nc: usize, nr: usize) {
    for (jp, panel) in dst.chunks_exact_mut(kc * nr).take(nc.div_ceil(nr)).enumerate() {
        pack_b_panel(panel, b, p0, kc, j0 + jp * nr, nr.min(nc - jp * nr), nr);
    }
}

/// Pack one `kc × nv` B micro-panel (columns from `c0`) padded with zeros to `nr` columns.
pub(crate) fn pack_b_panel(panel: &mut [f32], b: &MatRef<f32>, p0: usize, kc: usize, c0: usize, nv: usize, nr: usize) {
    if b.cs == 1 {
        for (p, d) in panel.chunks_exact_mut(nr).take(kc).enumerate() {
            let start = b.off + (p0 + p) * b.rs + c0;
            d[..nv].copy_from_slice(&b.data[start..start + nv]);
            d[nv..].fill(0.0);
        }
        return;
    }
    if nv < nr {
        for d in panel.chunks_exact_mut(nr).take(kc) {
            d[nv..].fill(0.0);
        }
    }
    if b.rs == 1 && nv == nr {
        let rows = &mut panel[..kc * nr];
        crate::ops::layout::tile::transpose_block(b.data, b.off + c0 * b.cs, p0, nr, b.cs, rows);
    } else if b.rs == 1 {
        for j in 0..nv {
            let start = b.off + p0 + (c0 + j) * b.cs;
            for (d, s) in panel.chunks_exact_mut(nr).zip(&b.data[start..start + kc]) {
                d[j] = *s;
            }
        }
    } else {
        for (p, d) in panel.chunks_exact_mut(nr).take(kc).enumerate() {
            for (j, x) in d.iter_mut().enumerate().take(nv) {
                *x = b.data[b.off + (p0 + p) * b.rs + (c0 + j) * b.cs];
            }
        }
    }
}

/// A left operand (`m × k`, e.g. conv weights) packed once into the kernel's micro-panel layout.
pub struct PackedA {
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) mr: usize,
    pub(crate) buf: AlignedBuf,
}

/// A right operand (`k × n`, e.g. MatMul / Gemm weights) packed once into micro-panels.
pub struct PackedB {
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) nr: usize,
    pub(crate) buf: AlignedBuf,
}

impl std::fmt::Debug for PackedA {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackedA({}x{}, mr {})", self.m, self.k, self.mr)
    }
}

impl std::fmt::Debug for PackedB {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackedB({}x{}, nr {})", self.k, self.n, self.nr)
    }
}

impl PackedA {
    /// Rows (m).
    pub fn rows(&self) -> usize {
        self.m
    }
    /// Columns (k).
    pub fn cols(&self) -> usize {
        self.k
    }
    /// The unpacked matrix, row-major (for kernels with another micro-tile height).
    pub(crate) fn unpack(&self) -> Vec<f32> {
        let d = self.buf.as_slice();
        let mut out = vec![0.0; self.m * self.k];
        for (i, row) in out.chunks_exact_mut(self.k.max(1)).enumerate().take(self.m) {
            let panel = &d[(i / self.mr) * self.k * self.mr..];
            for (p, x) in row.iter_mut().enumerate() {
                *x = panel[p * self.mr + i % self.mr];
            }
        }
        out
    }
}

impl PackedB {
    /// Rows (k).
    pub fn rows(&self) -> usize {
        self.k
    }
    /// Columns (n).
    pub fn cols(&self) -> usize {
        self.n
    }
    /// The unpacked matrix, row-major (for kernels with another micro-tile width).
    pub(crate) fn unpack(&self) -> Vec<f32> {
        let d = self.buf.as_slice();
        let mut out = vec![0.0; self.k * self.n];
        for (p, row) in out.chunks_exact_mut(self.n.max(1)).enumerate().take(self.k) {
            for (j, x) in row.iter_mut().enumerate() {
                *x = d[(j / self.nr) * self.k * self.nr + p * self.nr + j % self.nr];
            }
        }
        out
    }
}

/// Pack `a` (`m × k`) for repeated use as the left operand on the detected ISA.
pub fn pack_a(m: usize, k: usize, a: MatRef<f32>) -> Result<PackedA> {
    pack_a_isa(Isa::detect(), m, k, a)
}

/// Pack `a` (`m × k`) for the micro-kernel of `isa`.
pub fn pack_a_isa(isa: Isa, m: usize, k: usize, a: MatRef<f32>) -> Result<PackedA> {
    check_view(a.data.len(), a.off, m, k, a.rs, a.cs)?;
    let mr = arch_of(isa)?.mr;
    let len = m.div_ceil(mr).checked_mul(mr * k).ok_or_else(too_big)?;
    let mut buf = AlignedBuf::zeroed(len);
    if m > 0 && k > 0 {
        pack_a_block(buf.as_mut_slice(), &a, 0, m, 0, k, mr);
    }
    Ok(PackedA { m, k, mr, buf })
}

/// Pack `b` (`k × n`) for repeated use as the right operand on the detected ISA.
pub fn pack_b(k: usize, n: usize, b: MatRef<f32>) -> Result<PackedB> {
    pack_b_isa(Isa::detect(), k, n, b)
}

/// Pack `b` (`k × n`) for the micro-kernel of `isa`.
pub fn pack_b_isa(isa: Isa, k: usize, n: usize, b: MatRef<f32>) -> Result<PackedB> {
    check_view(b.data.len(), b.off, k, n, b.rs, b.cs)?;
    let nr = arch_of(isa)?.nr;
    let len = n.div_ceil(nr).checked_mul(nr * k).ok_or_else(too_big)?;
    let mut buf = AlignedBuf::zeroed(len);
    if n > 0 && k > 0 {
        pack_b_block(buf.as_mut_slice(), &b, 0, k, 0, n, nr);
    }
    Ok(PackedB { k, n, nr, buf })
}

fn too_big() -> KernelError {
    KernelError::invalid("sgemm", "packed operand too large")
}
