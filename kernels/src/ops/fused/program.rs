//! Fast CPU evaluation of f32 elementwise programs: one pass over memory for a whole chain.
//!
//! The output is walked in rows of its innermost (collapsed) dimension, gathered into blocks of
//! [`BLOCK`] elements held in L1-resident register buffers (long rows are cut, short rows share
//! a block), and every instruction is a tight loop over a block: plain loops the compiler
//! vectorises, and [`crate::vmath`] for the transcendental ones. Inputs that broadcast along the
//! row are splatted per row segment.

use crate::buffers;
use crate::codegen::elementwise::{ElementwiseProgram, Reg};
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp, VariadicOp};
use crate::shape::{broadcast_dims_small, broadcast_strides_small, SmallDims};
use crate::tensor::Tensor;
use crate::vmath::{self, Func};
use rayon::prelude::*;
use smallvec::SmallVec;

/// Elements per register block.
const BLOCK: usize = 256;

/// One instruction in the fast form.
#[derive(Clone, Copy, Debug, PartialEq)]
enum FInst {
    Un(Un, Reg),
    Bin(Bin, Reg, Reg),
    /// `x` clamped to `[lo, hi]` (registers or constants).
    Clip(Reg, Bound, Bound),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Bound {
    None,
    Const(f32),
    Reg(Reg),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Un {
    Relu,
    Neg,
    Abs,
    Sqrt,
    Exp,
    Log,
    Tanh,
    Sigmoid,
    Erf,
    Reciprocal,
    LeakyRelu(f32),
    HardSigmoid(f32, f32),
    HardSwish,
    Gelu,
    GeluTanh,
    Swish(f32),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Bin {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    PRelu,
}

/// An f32 program in the fast form, or `None` when some instruction is outside its op set.
#[derive(Clone, Debug, PartialEq)]
pub struct FastProgram {
    inputs: usize,
    insts: Vec<FInst>,
    outputs: Vec<Reg>,
    /// The program is `[relu](x·a + b)` over three inputs (see [`RowAffine`]).
    affine: Option<RowAffine>,
}

/// A program `y = x·a + b` (either factor order, optionally followed by ReLU) over inputs
/// `x`, `a`, `b`: when at eval `x` runs along each row and `a`, `b` are constant along it (a
/// per-channel scale and shift over NCHW, as in DenseNet's pre-activation BatchNorm + ReLU),
/// each row is one vectorised pass instead of a pass per instruction through the register
/// blocks. Same f32 operations in the same order, so the same results bit for bit.
#[derive(Clone, Copy, Debug, PartialEq)]
struct RowAffine {
    /// The two operands of the multiply (which one is `x` is decided by the layout).
    mul: [Reg; 2],
    /// The addend.
    add: Reg,
    relu: bool,
}

impl RowAffine {
    fn detect(inputs: usize, insts: &[FInst], outputs: &[Reg]) -> Option<RowAffine> {
        let (m, a) = (inputs, inputs + 1);
        let relu = match insts {
            [_, _] => false,
            [_, _, FInst::Un(Un::Relu, r)] if *r == a => true,
            _ => return None,
        };
        let FInst::Bin(Bin::Mul, p, q) = insts[0] else {
            return None;
        };
        let add = match insts[1] {
            FInst::Bin(Bin::Add, l, r) if l == m => r,
            FInst::Bin(Bin::Add, l, r) if r == m => l,
            _ => return None,
        };
        let last = inputs + insts.len() - 1;
        let mut regs = [p, q, add];
        regs.sort_unstable();
        (inputs == 3 && regs == [0, 1, 2] && outputs == [last]).then_some(RowAffine { mul: [p, q], add, relu })
    }

    /// `(x, a, b)` when the layout runs `x` along rows and holds `a` and `b` constant on them.
    fn resolve(&self, l: &Layout) -> Option<(Reg, Reg, Reg)> {
        let st = &l.inner_stride;
        let (x, a) = match (st[self.mul[0]], st[self.mul[1]]) {
            (1, 0) => (self.mul[0], self.mul[1]),
            (0, 1) => (self.mul[1], self.mul[0]),
            _ => return None,
        };
        (st[self.add] == 0 && l.inner >= 8).then_some((x, a, self.add))
    }
}

impl FastProgram {
    /// Translate `p`; `None` unless every value is f32 and every op has a fast form.
    pub fn new(p: &ElementwiseProgram) -> Option<FastProgram> {
        if p.inputs.iter().any(|d| *d != DType::F32) || p.insts.iter().any(|i| i.dtype != DType::F32) {
            return None;
        }
        let mut insts = Vec::with_capacity(p.insts.len());
        for inst in &p.insts {
            let a = |k: usize| inst.args.get(k).copied().flatten();
            let f = match &inst.op {
                ElementwiseOp::Unary(u) => FInst::Un(unary(u)?, a(0)?),
                ElementwiseOp::Binary(b) if inst.args.len() == 2 => FInst::Bin(binary(b)?, a(0)?, a(1)?),
                ElementwiseOp::Variadic(v) if inst.args.len() == 2 => {
                    let b = match v {
                        VariadicOp::Sum => Bin::Add,
                        VariadicOp::Max => Bin::Max,
                        VariadicOp::Min => Bin::Min,
                        VariadicOp::Mean => return None,
                    };
                    FInst::Bin(b, a(0)?, a(1)?)
                }
                ElementwiseOp::Clip { min, max } => {
                    // Bounds are scalars: attributes, or program inputs checked at eval.
                    let bound = |k: usize, attr: &Option<f32>| match (a(k), attr) {
                        (Some(r), _) if r < p.inputs.len() => Some(Bound::Reg(r)),
                        (Some(_), _) => None,
                        (None, Some(v)) => Some(Bound::Const(*v)),
                        (None, None) => Some(Bound::None),
                    };
                    FInst::Clip(a(0)?, bound(1, min)?, bound(2, max)?)
                }
                _ => return None,
            };
            insts.push(f);
        }
        Some(FastProgram {
            affine: RowAffine::detect(p.inputs.len(), &insts, &p.outputs),
            inputs: p.inputs.len(),
            insts,
            outputs: p.outputs.clone(),
        })
    }

    /// Whether the program has the [`RowAffine`] form.
    #[cfg(test)]
    pub(super) fn is_row_affine(&self) -> bool {
        self.affine.is_some()
    }

    /// Evaluate on f32 tensors that broadcast (numpy rules) to one output shape.
    pub fn eval(&self, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        const OP: &str = "FusedElementwise";
        if inputs.len() != self.inputs {
            return Err(KernelError::invalid(
                OP,
                format!("{} inputs given, {} expected", inputs.len(), self.inputs),
            ));
        }
        let mut data: SmallVec<[&[f32]; 8]> = SmallVec::with_capacity(inputs.len());
        for t in inputs {
            data.push(t.as_slice::<f32>()?);
        }
        for (k, inst) in self.insts.iter().enumerate() {
            if let FInst::Clip(_, lo, hi) = inst {
                for b in [lo, hi] {
                    if let Bound::Reg(r) = b {
                        if *r < self.inputs && inputs[*r].len() != 1 {
                            return Err(KernelError::invalid(
                                OP,
                                format!("Clip bound of instruction {k} is not a scalar"),
                            ));
                        }
                    }
                }
            }
        }
        let shapes: SmallVec<[&[usize]; 8]> = inputs.iter().map(|t| t.shape()).collect();
        let out_shape = broadcast_dims_small(OP, &shapes)?;
        let layout = Layout::new(&out_shape, &shapes);
        let total: usize = out_shape.iter().product();
        let mut outs: SmallVec<[Vec<f32>; 2]> = self.outputs.iter().map(|_| buffers::overwritten(total)).collect();
        if total > 0 {
            match self.affine.and_then(|a| Some((a, a.resolve(&layout)?))) {
                Some((a, regs)) => row_affine(&layout, &data, regs, a.relu, &mut outs[0]),
                None => self.run_rows(&layout, &data, &mut outs),
            }
        }
        let mut res = Vec::with_capacity(0);
        for v in outs {
            let t = Tensor::from_vec(buffers::dims(&out_shape), v)?;
            if res.capacity() == 0 && self.outputs.len() == 1 {
                res = buffers::one(t);
            } else {
                res.push(t);
            }
        }
        Ok(res)
    }

    fn run_rows(&self, l: &Layout, data: &[&[f32]], outs: &mut [Vec<f32>]) {
        let rows = l.rows();
        let nregs = self.inputs + self.insts.len();
        // Short rows share a block: rows `r0..r1` are written contiguously, so a block is filled
        // row segment by row segment (each input copied or splatted per segment) and every
        // instruction runs once per full block, not once per row.
        let rows_task = |regs: &mut [f32], offs: &mut [usize], r0: usize, r1: usize, dst: &mut [&mut [f32]]| {
            let run_block = |regs: &mut [f32], dst: &mut [&mut [f32]], base: usize, n: usize| {
                for (k, inst) in self.insts.iter().enumerate() {
                    let (src, rest) = regs.split_at_mut((self.inputs + k) * BLOCK);
                    exec(*inst, src, &mut rest[..n], n);
                }
                for (o, &r) in dst.iter_mut().zip(&self.outputs) {
                    o[base..base + n].copy_from_slice(&regs[r * BLOCK..r * BLOCK + n]);
                }
            };
            let (mut fill, mut base) = (0, 0);
            for r in r0..r1 {
                l.offsets(r, offs);
                let mut c0 = 0;
                while c0 < l.inner {
                    let n = (BLOCK - fill).min(l.inner - c0);
                    for (i, d) in data.iter().enumerate() {
                        let reg = &mut regs[i * BLOCK + fill..i * BLOCK + fill + n];
                        if l.inner_stride[i] == 0 {
                            reg.fill(d[offs[i]]);
                        } else {
                            reg.copy_from_slice(&d[offs[i] + c0..offs[i] + c0 + n]);
                        }
                    }
                    fill += n;
                    c0 += n;
                    if fill == BLOCK {
                        run_block(regs, dst, base, BLOCK);
                        base += BLOCK;
                        fill = 0;
                    }
                }
            }
            if fill > 0 {
                run_block(regs, dst, base, fill);
            }
        };
        let per_task = l.rows_per_task();
        let chunk = (per_task * l.inner).max(1);
        // Each task's registers live in its thread's grow-only scratch.
        let work = |t: usize, group: &mut [&mut [f32]]| {
            with_regs(nregs * BLOCK, |regs| {
                let mut offs: SmallVec<[usize; 8]> = smallvec::smallvec![0; data.len()];
                let r0 = t * per_task;
                rows_task(regs, &mut offs, r0, (r0 + per_task).min(rows), group);
            })
        };
        let tasks = rows.div_ceil(per_task.max(1));
        match outs {
            [o] if tasks > 1 => o.par_chunks_mut(chunk).enumerate().for_each(|(t, a)| work(t, &mut [a])),
            [o] => work(0, &mut [o.as_mut_slice()]),
            [o, p] if tasks > 1 => o
                .par_chunks_mut(chunk)
                .zip(p.par_chunks_mut(chunk))
                .enumerate()
                .for_each(|(t, (a, b))| work(t, &mut [a, b])),
            [o, p] => work(0, &mut [o.as_mut_slice(), p.as_mut_slice()]),
            _ => {
                // Three or more outputs: one task list per output chunk (allocates; rare).
                let mut iters: Vec<_> = outs.iter_mut().map(|o| o.chunks_mut(chunk)).collect();
                let mut groups: Vec<Vec<&mut [f32]>> = Vec::new();
                'outer: loop {
                    let mut group = Vec::with_capacity(iters.len());
                    for it in iters.iter_mut() {
                        match it.next() {
                            Some(s) => group.push(s),
                            None => break 'outer,
                        }
                    }
                    groups.push(group);
                }
                groups
                    .into_par_iter()
                    .enumerate()
                    .for_each(|(t, mut g)| work(t, &mut g));
            }
        }
    }
}

/// Evaluate a [`RowAffine`] program row by row: `out = [relu](x·a + b)` with `a`, `b` one value
/// per row.
fn row_affine(l: &Layout, data: &[&[f32]], (x, a, b): (Reg, Reg, Reg), relu: bool, out: &mut [f32]) {
    let (rows, inner, per_task) = (l.rows(), l.inner, l.rows_per_task());
    let task = |(t, dst): (usize, &mut [f32])| {
        let mut offs: SmallVec<[usize; 8]> = smallvec::smallvec![0; data.len()];
        for (k, orow) in dst.chunks_exact_mut(inner).enumerate() {
            l.offsets(t * per_task + k, &mut offs);
            let (s, c) = (data[a][offs[a]], data[b][offs[b]]);
            let xrow = &data[x][offs[x]..offs[x] + inner];
            if relu {
                for (o, &v) in orow.iter_mut().zip(xrow) {
                    let y = v * s + c;
                    *o = if y < 0.0 { 0.0 } else { y };
                }
            } else {
                for (o, &v) in orow.iter_mut().zip(xrow) {
                    *o = v * s + c;
                }
            }
        }
    };
    if per_task < rows {
        out.par_chunks_mut(per_task * inner).enumerate().for_each(task);
    } else {
        task((0, out));
    }
}

/// Register blocks of the programs being evaluated (grow-only).
static REGS: buffers::Scratch<Vec<f32>> = buffers::Scratch::new();

/// Run `f` on `len` scratch floats (stale contents).
fn with_regs<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    buffers::with_scratch(&REGS, len, |buf| {
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}

/// Output shape collapsed to `[outer dims…, inner]` with per-input element strides.
struct Layout {
    outer: SmallDims,
    outer_strides: SmallVec<[SmallDims; 8]>,
    inner: usize,
    inner_stride: SmallDims,
}

impl Layout {
    fn new(out: &[usize], shapes: &[&[usize]]) -> Layout {
        let strides: SmallVec<[SmallDims; 8]> = shapes.iter().map(|s| broadcast_strides_small(s, out)).collect();
        // Merge adjacent dims while every input stays affine across the pair.
        let mut dims = SmallDims::new();
        let mut st: SmallVec<[SmallDims; 8]> = smallvec::smallvec![SmallDims::new(); shapes.len()];
        for (d, &ext) in out.iter().enumerate() {
            let mergeable = !dims.is_empty()
                && strides.iter().enumerate().all(|(i, s)| {
                    let prev = *st[i].last().unwrap_or(&0);
                    prev == s[d] * ext
                });
            if mergeable {
                if let Some(last) = dims.last_mut() {
                    *last *= ext;
                }
                for (i, s) in strides.iter().enumerate() {
                    if let Some(p) = st[i].last_mut() {
                        *p = s[d];
                    }
                }
            } else {
                dims.push(ext);
                for (i, s) in strides.iter().enumerate() {
                    st[i].push(s[d]);
                }
            }
        }
        let inner = dims.pop().unwrap_or(1);
        let inner_stride = st.iter_mut().map(|s| s.pop().unwrap_or(0)).collect();
        Layout {
            outer: dims,
            outer_strides: st,
            inner,
            inner_stride,
        }
    }

    fn rows(&self) -> usize {
        self.outer.iter().product()
    }

    /// Rows per parallel task: all of them for small outputs, else enough work per task to
    /// hide the fork/join cost.
    fn rows_per_task(&self) -> usize {
        let rows = self.rows();
        if rows * self.inner < 1 << 16 {
            rows
        } else {
            (rows / (rayon::current_num_threads() * 4)).max(1)
        }
    }

    /// Element offset of each input at the start of row `r`, into `offs`.
    fn offsets(&self, mut r: usize, offs: &mut [usize]) {
        offs.fill(0);
        for d in (0..self.outer.len()).rev() {
            let i = r % self.outer[d];
            r /= self.outer[d];
            for (o, s) in offs.iter_mut().zip(&self.outer_strides) {
                *o += i * s[d];
            }
        }
    }
}

fn unary(u: &UnaryOp) -> Option<Un> {
    Some(match *u {
        UnaryOp::Relu => Un::Relu,
        UnaryOp::Neg => Un::Neg,
        UnaryOp::Abs => Un::Abs,
        UnaryOp::Sqrt => Un::Sqrt,
        UnaryOp::Exp => Un::Exp,
        UnaryOp::Log => Un::Log,
        UnaryOp::Tanh => Un::Tanh,
        UnaryOp::Sigmoid => Un::Sigmoid,
        UnaryOp::Erf => Un::Erf,
        UnaryOp::Reciprocal => Un::Reciprocal,
        UnaryOp::LeakyRelu { alpha } => Un::LeakyRelu(alpha),
        UnaryOp::HardSigmoid { alpha, beta } => Un::HardSigmoid(alpha, beta),
        UnaryOp::HardSwish => Un::HardSwish,
        UnaryOp::Gelu { tanh: false } => Un::Gelu,
        UnaryOp::Gelu { tanh: true } => Un::GeluTanh,
        UnaryOp::Swish { alpha } => Un::Swish(alpha),
        _ => return None,
    })
}

fn binary(b: &BinaryOp) -> Option<Bin> {
    Some(match b {
        BinaryOp::Add => Bin::Add,
        BinaryOp::Sub => Bin::Sub,
        BinaryOp::Mul => Bin::Mul,
        BinaryOp::Div => Bin::Div,
        BinaryOp::PRelu => Bin::PRelu,
        _ => return None,
    })
}

#[inline]
fn clamp01(v: f32) -> f32 {
    if v < 0.0 {
        0.0
    } else if v > 1.0 {
        1.0
    } else {
        v
    }
}

/// Run one instruction over a block: `src` holds the registers before it, `out` is its own.
fn exec(inst: FInst, src: &[f32], out: &mut [f32], n: usize) {
    let reg = |r: Reg| &src[r * BLOCK..r * BLOCK + n];
    match inst {
        FInst::Un(u, a) => {
            let x = reg(a);
            // A plain loop the compiler vectorises (monomorphised per closure).
            fn each(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = f(v);
                }
            }
            match u {
                // The cheap ones as plain loops so they vectorise.
                Un::Relu => {
                    for (o, &v) in out.iter_mut().zip(x) {
                        *o = if v < 0.0 { 0.0 } else { v };
                    }
                }
                Un::Neg => {
                    for (o, &v) in out.iter_mut().zip(x) {
                        *o = -v;
                    }
                }
                Un::Abs => {
                    for (o, &v) in out.iter_mut().zip(x) {
                        *o = v.abs();
                    }
                }
                Un::LeakyRelu(a) => {
                    for (o, &v) in out.iter_mut().zip(x) {
                        *o = if v < 0.0 { a * v } else { v };
                    }
                }
                Un::Sqrt => each(x, out, f32::sqrt),
                Un::Reciprocal => each(x, out, |v| 1.0 / v),
                Un::HardSigmoid(a, b) => each(x, out, |v| clamp01(a * v + b)),
                Un::HardSwish => each(x, out, |v| v * clamp01(v / 6.0 + 0.5)),
                // The transcendental ones through the vector maths.
                Un::Exp => vmath::map(Func::Exp, x, out),
                Un::Log => vmath::map(Func::Log, x, out),
                Un::Tanh => vmath::map(Func::Tanh, x, out),
                Un::Sigmoid => vmath::map(Func::Sigmoid, x, out),
                Un::Erf => vmath::map(Func::Erf, x, out),
                Un::Gelu => vmath::map(Func::Gelu, x, out),
                Un::GeluTanh => {
                    let s = (2.0f64 / std::f64::consts::PI).sqrt() as f32;
                    each(x, out, |v| s * (v + 0.044715 * v * v * v));
                    vmath::map_inplace(Func::Tanh, out);
                    for (o, &v) in out.iter_mut().zip(x) {
                        *o = 0.5 * v * (1.0 + *o);
                    }
                }
                Un::Swish(a) if a == 1.0 => vmath::map(Func::Silu, x, out),
                Un::Swish(a) => {
                    each(x, out, |v| a * v);
                    vmath::map_inplace(Func::Sigmoid, out);
                    for (o, &v) in out.iter_mut().zip(x) {
                        *o *= v;
                    }
                }
            }
        }
        FInst::Bin(b, a, c) => {
            let (x, y) = (reg(a), reg(c));
            let it = out.iter_mut().zip(x.iter().zip(y));
            match b {
                Bin::Add => it.for_each(|(o, (&p, &q))| *o = p + q),
                Bin::Sub => it.for_each(|(o, (&p, &q))| *o = p - q),
                Bin::Mul => it.for_each(|(o, (&p, &q))| *o = p * q),
                Bin::Div => it.for_each(|(o, (&p, &q))| *o = p / q),
                // NaN propagates, as in numpy's maximum/minimum.
                Bin::Max => it.for_each(|(o, (&p, &q))| *o = if p.is_nan() || p >= q { p } else { q }),
                Bin::Min => it.for_each(|(o, (&p, &q))| *o = if p.is_nan() || p <= q { p } else { q }),
                Bin::PRelu => it.for_each(|(o, (&p, &q))| *o = if p < 0.0 { q * p } else { p }),
            }
        }
        FInst::Clip(a, lo, hi) => {
            let bound = |b: Bound| match b {
                Bound::None => None,
                Bound::Const(v) => Some(v),
                // Validated as one element (a broadcast scalar): its block is a splat.
                Bound::Reg(r) => Some(src[r * BLOCK]),
            };
            let (l, h) = (
                bound(lo).unwrap_or(f32::NEG_INFINITY),
                bound(hi).unwrap_or(f32::INFINITY),
            );
            for (o, &v) in out.iter_mut().zip(reg(a)) {
                let v = if v < l { l } else { v };
                *o = if v > h { h } else { v };
            }
        }
    }
}
