//! The CUDA C dialect of the elementwise program: one self-contained source for NVRTC (no
//! `#include`), with entry point `suanli_ew`.
//!
//! Storage is native: 1-, 2- and 8-byte integers as `signed char` .. `unsigned long long`,
//! bools as `unsigned char` 0/1 (computed as `bool`), f64 as `double`, f16 and bf16 as
//! `unsigned short` bits computed in `float` (converted with inline PTX) and rounded back to
//! their precision after every instruction. Integer arithmetic wraps (it is done in an
//! unsigned type of at least 32 bits), division and remainder follow the CPU kernels
//! (0 on division by zero, `MIN / -1` wraps), float-to-integer conversion saturates with
//! NaN -> 0, like Rust's `as`. The kernels assume IEEE float semantics (no fast-math).
//!
//! ABI: `suanli_ew(const SuanliEwParams p, const T0* in0, .., O0* out0, ..)`, one pointer per
//! program input then one per output, with [`params`] filling the struct: output element
//! count, rank, a bitmask of the inputs read through strides (the others are read at the
//! output's linear index), output dims and per-input element strides (0 on broadcast dims).

use super::cuda_helpers::{attr_lit, ctype, float_lit, int_lit, int_range, kernel_source, load, store, utype, Helpers};
use super::elementwise::{ElementwiseProgram, Inst, Reg};
use crate::dtype::DType;
use crate::op::{InferInput, OpImpl};
use crate::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp, VariadicOp};
use crate::shape::TensorType;
use std::fmt::Write;

type R<T> = std::result::Result<T, String>;

/// The highest output rank [`params`] describes.
pub const MAX_RANK: usize = 8;
/// The most program inputs [`render`] accepts.
pub const MAX_INPUTS: usize = 32;

/// The C type a dtype is stored as in device memory.
pub fn storage_type(dt: DType) -> R<&'static str> {
    Ok(match dt {
        DType::F16 | DType::BF16 => "unsigned short",
        DType::Bool => "unsigned char",
        DType::Str => return Err("str has no CUDA representation".into()),
        d => ctype(d),
    })
}

/// The words of `SuanliEwParams` for output shape `out` and each input's shape (numpy
/// broadcasting, right-aligned): `[n, rank, strided, dims[8], strides[max(1, inputs)][8]]`.
/// Bit `k` of `strided` is set when input `k` does not have the output's shape (after
/// left-padding with 1s); its strides are then its contiguous element strides placed on the
/// output's dims, 0 where it broadcasts. `out.len()` must be at most [`MAX_RANK`].
pub fn params(out: &[usize], inputs: &[&[usize]]) -> Vec<i64> {
    let rank = out.len();
    assert!(
        rank <= MAX_RANK,
        "rank {rank} exceeds the CUDA elementwise limit {MAX_RANK}"
    );
    let nin = inputs.len().max(1);
    let mut w = vec![0i64; 3 + MAX_RANK + MAX_RANK * nin];
    w[0] = out.iter().product::<usize>() as i64;
    w[1] = rank as i64;
    for (d, &n) in out.iter().enumerate() {
        w[3 + d] = n as i64;
    }
    let mut mask = 0i64;
    for (k, s) in inputs.iter().enumerate() {
        let base = 3 + MAX_RANK + MAX_RANK * k;
        let mut same = s.len() <= rank;
        let mut acc = 1i64;
        for (j, &d) in s.iter().enumerate().rev() {
            let Some(pos) = rank.checked_sub(s.len() - j) else {
                continue;
            };
            same &= d == out[pos];
            w[base + pos] = if d == 1 { 0 } else { acc };
            acc *= d as i64;
        }
        same &= out[..rank.saturating_sub(s.len())].iter().all(|&d| d == 1);
        if !same {
            mask |= 1 << k;
        }
    }
    w[2] = mask;
    w
}

fn unsupported(op: &str, dt: DType) -> String {
    format!("{op} on {dt} has no CUDA kernel")
}

struct Ctx<'a> {
    p: &'a ElementwiseProgram,
    h: Helpers,
}

/// Float maths function `name` for compute type `dt` (`expf` vs `exp`).
fn fm(name: &str, dt: DType) -> String {
    if dt == DType::F64 {
        name.to_string()
    } else {
        format!("{name}f")
    }
}

/// The helper suffix of a float dtype's compute type.
fn fsfx(dt: DType) -> &'static str {
    if dt == DType::F64 {
        "f64"
    } else {
        "f32"
    }
}

impl Ctx<'_> {
    fn reg(&self, r: Reg) -> String {
        format!("r{r}")
    }

    /// A float literal in the compute type of float dtype `dt`.
    fn fl(dt: DType, v: f64) -> String {
        float_lit(dt != DType::F64, v)
    }

    /// The C statements defining register `out` for one instruction.
    fn inst(&mut self, out: Reg, op: &ElementwiseOp, args: &[Option<Reg>], dt: DType) -> R<Vec<String>> {
        let a = |i: usize| -> R<Reg> {
            args.get(i)
                .copied()
                .flatten()
                .ok_or_else(|| format!("operand {i} missing"))
        };
        let ct = ctype(dt);
        let o = self.reg(out);
        let e = match op {
            ElementwiseOp::Unary(u) => {
                let x = a(0)?;
                self.unary(u, &self.reg(x), self.p.dtype(x))?
            }
            ElementwiseOp::Binary(b) => self.binary(b, a(0)?, a(1)?)?,
            ElementwiseOp::Variadic(v) => return self.variadic(&o, v, args, dt),
            ElementwiseOp::Where => {
                let (c, x, y) = (a(0)?, a(1)?, a(2)?);
                if self.p.dtype(c) != DType::Bool {
                    return Err(format!("Where needs a bool condition, found {}", self.p.dtype(c)));
                }
                if self.p.dtype(x) != dt || self.p.dtype(y) != dt {
                    return Err(format!("Where operands must both be {dt}"));
                }
                storage_type(dt)?;
                // Both operands are already values of `dt`: nothing to round.
                return Ok(vec![format!(
                    "const {ct} {o} = {} ? {} : {};",
                    self.reg(c),
                    self.reg(x),
                    self.reg(y)
                )]);
            }
            ElementwiseOp::Cast { .. } | ElementwiseOp::CastLike => {
                let x = a(0)?;
                let e = self.cast(&self.reg(x), self.p.dtype(x), dt)?;
                return Ok(vec![format!("const {ct} {o} = {e};")]);
            }
            ElementwiseOp::Clip { min, max } => return self.clip(&o, args, dt, *min, *max),
        };
        Ok(vec![format!("const {ct} {o} = {};", self.round(dt, e))])
    }

    /// Round a float expression computed for a half-precision register to its precision.
    fn round(&mut self, dt: DType, e: String) -> String {
        match dt {
            DType::F16 => format!("{}({e})", self.h.need("sl_rh")),
            DType::BF16 => format!("{}({e})", self.h.need("sl_rbf")),
            _ => e,
        }
    }

    /// Convert `x` (a value of dtype `from`) to `to`, exactly as the CPU `Cast` does.
    fn cast(&mut self, x: &str, from: DType, to: DType) -> R<String> {
        storage_type(from)?;
        storage_type(to)?;
        if from == to {
            return Ok(x.to_string());
        }
        if to == DType::Bool {
            let z = if from.is_float() {
                Self::fl(from, 0.0)
            } else {
                "0".into()
            };
            return Ok(format!("({x} != {z})"));
        }
        if from == DType::Bool {
            let (z, one) = if to.is_float() {
                (Self::fl(to, 0.0), Self::fl(to, 1.0))
            } else {
                (int_lit(to, 0), int_lit(to, 1))
            };
            return Ok(format!("({x} ? {one} : {z})"));
        }
        if from.is_float() && to.is_int() {
            let f = self.h.need(&format!("sl_f2i_{}", to.name()));
            return Ok(if from == DType::F64 {
                format!("{f}({x})")
            } else {
                format!("{f}((double){x})")
            });
        }
        if to.is_int() {
            return Ok(format!("({})({x})", ctype(to)));
        }
        // To a float. Integers go through f64 first (exact up to 32 bits; 64-bit integers
        // round there, as on the CPU), then round once to the target.
        let wide = from == DType::F64 || from.is_int();
        let v = if from.is_int() {
            format!("(double){x}")
        } else {
            x.to_string()
        };
        Ok(match to {
            DType::F64 => format!("(double){x}"),
            DType::F32 if wide => format!("(float){v}"),
            DType::F32 => v,
            DType::F16 => format!("{}({v})", self.h.need(if wide { "sl_rhd" } else { "sl_rh" })),
            _ => format!("{}({v})", self.h.need(if wide { "sl_rbfd" } else { "sl_rbf" })),
        })
    }

    fn clip(&mut self, o: &str, args: &[Option<Reg>], dt: DType, min: Option<f32>, max: Option<f32>) -> R<Vec<String>> {
        let x = args.first().copied().flatten().ok_or("operand 0 missing")?;
        if self.p.dtype(x) != dt || !dt.is_numeric() {
            return Err(unsupported("Clip", self.p.dtype(x)));
        }
        // An integer attribute bound at the type's own limit clamps nothing: left out.
        let (tmin, tmax) = if dt.is_int() { int_range(dt) } else { (0, 0) };
        let mut bound = |i: usize, attr: Option<f32>, limit: i128| -> R<Option<String>> {
            Ok(match args.get(i).copied().flatten() {
                Some(r) => Some(self.cast(&self.reg(r), self.p.dtype(r), dt)?),
                None => attr
                    .map(|v| attr_lit(dt, v))
                    .filter(|l| !dt.is_int() || *l != int_lit(dt, limit)),
            })
        };
        let lo = bound(1, min, tmin)?;
        let hi = bound(2, max, tmax)?;
        let mut lines = vec![format!("{} {o} = {};", ctype(dt), self.reg(x))];
        // Comparisons (not min/max) so NaN passes through; with lo > hi every value is hi.
        if let Some(l) = lo {
            lines.push(format!("if ({o} < {l}) {o} = {l};"));
        }
        if let Some(h) = hi {
            lines.push(format!("if ({o} > {h}) {o} = {h};"));
        }
        Ok(lines)
    }

    fn variadic(&mut self, o: &str, v: &VariadicOp, args: &[Option<Reg>], dt: DType) -> R<Vec<String>> {
        let regs: Vec<Reg> = args.iter().flatten().copied().collect();
        if regs.is_empty() {
            return Err(format!("{} without inputs", v.name()));
        }
        if !v.accepts(dt) || regs.iter().any(|&r| self.p.dtype(r) != dt) {
            return Err(unsupported(v.name(), dt));
        }
        let ct = ctype(dt);
        let mut lines = vec![format!("{ct} {o} = {};", self.reg(regs[0]))];
        for &r in &regs[1..] {
            let y = self.reg(r);
            let step = match (v, dt.is_float()) {
                (VariadicOp::Sum | VariadicOp::Mean, true) => format!("{o} + {y}"),
                (VariadicOp::Sum | VariadicOp::Mean, false) => {
                    let u = utype(dt);
                    format!("({ct})(({u}){o} + ({u}){y})")
                }
                (VariadicOp::Max, true) => format!("{}({o}, {y})", self.h.need(&format!("sl_max_{}", fsfx(dt)))),
                (VariadicOp::Min, true) => format!("{}({o}, {y})", self.h.need(&format!("sl_min_{}", fsfx(dt)))),
                (VariadicOp::Max, false) => format!("{y} > {o} ? {y} : {o}"),
                (VariadicOp::Min, false) => format!("{y} < {o} ? {y} : {o}"),
            };
            lines.push(format!("{o} = {step};"));
        }
        if *v == VariadicOp::Mean && regs.len() > 1 {
            lines.push(format!("{o} = {o} / {};", Self::fl(dt, regs.len() as f64)));
        }
        // Half floats accumulate in f32 and round once, as on the CPU.
        if matches!(dt, DType::F16 | DType::BF16) {
            let r = self.round(dt, o.to_string());
            lines.push(format!("{o} = {r};"));
        }
        Ok(lines)
    }

    fn unary(&mut self, u: &UnaryOp, x: &str, dt: DType) -> R<String> {
        use UnaryOp::*;
        storage_type(dt)?;
        if dt == DType::Bool {
            return match u {
                Not => Ok(format!("!{x}")),
                _ => Err(unsupported(u.name(), dt)),
            };
        }
        if dt.is_int() {
            return self.int_unary(u, x, dt);
        }
        let l = |v: f64| Self::fl(dt, v);
        let c = |v: f32| Self::fl(dt, v as f64);
        let (z, one) = (l(0.0), l(1.0));
        let f = |name: &str| format!("{}({x})", fm(name, dt));
        let s = fsfx(dt);
        let bits = if dt == DType::F64 {
            format!("(unsigned long long)__double_as_longlong({x})")
        } else {
            format!("__float_as_uint({x})")
        };
        let (abs_mask, inf, ninf) = if dt == DType::F64 {
            (
                "0x7fffffffffffffffULL",
                "0x7ff0000000000000ULL",
                "0xfff0000000000000ULL",
            )
        } else {
            ("0x7fffffffu", "0x7f800000u", "0xff800000u")
        };
        Ok(match u {
            Abs => f("fabs"),
            Neg => format!("(-{x})"),
            Reciprocal => format!("({one} / {x})"),
            Sqrt => f("sqrt"),
            Exp => f("exp"),
            Log => f("log"),
            Sin => f("sin"),
            Cos => f("cos"),
            Tan => f("tan"),
            Asin => f("asin"),
            Acos => f("acos"),
            Atan => f("atan"),
            Sinh => f("sinh"),
            Cosh => f("cosh"),
            Asinh => f("asinh"),
            Acosh => f("acosh"),
            Atanh => f("atanh"),
            Ceil => f("ceil"),
            Floor => f("floor"),
            // rint rounds half to even in the default rounding mode.
            Round => f("rint"),
            Sign => format!("({x} > {z} ? {one} : ({x} < {z} ? {} : {x}))", l(-1.0)),
            Erf => f("erf"),
            IsNaN => format!("(({bits} & {abs_mask}) > {inf})"),
            IsInf {
                detect_positive,
                detect_negative,
            } => match (detect_positive, detect_negative) {
                (true, true) => format!("(({bits} & {abs_mask}) == {inf})"),
                (true, false) => format!("({bits} == {inf})"),
                (false, true) => format!("({bits} == {ninf})"),
                (false, false) => "false".into(),
            },
            Relu => format!("({x} < {z} ? {z} : {x})"),
            Sigmoid => format!("{}({x})", self.h.need(&format!("sl_sigmoid_{s}"))),
            Tanh => f("tanh"),
            Softsign => format!("({x} / ({one} + {}))", f("fabs")),
            Softplus => format!("{}({x})", self.h.need(&format!("sl_softplus_{s}"))),
            LeakyRelu { alpha } => format!("({x} < {z} ? {} * {x} : {x})", c(*alpha)),
            Elu { alpha } => format!("({x} < {z} ? {} * ({} - {one}) : {x})", c(*alpha), f("exp")),
            Selu { alpha, gamma } => {
                let (a, g) = (c(*alpha), c(*gamma));
                format!("({x} > {z} ? {g} * {x} : {g} * ({a} * {} - {a}))", f("exp"))
            }
            Celu { alpha } => {
                let a = c(*alpha);
                format!("({x} > {z} ? {x} : {a} * ({}({x} / {a}) - {one}))", fm("exp", dt))
            }
            HardSigmoid { alpha, beta } => {
                let h = self.h.need(&format!("sl_clamp01_{s}"));
                format!("{h}({} * {x} + {})", c(*alpha), c(*beta))
            }
            HardSwish => {
                let h = self.h.need(&format!("sl_clamp01_{s}"));
                format!("({x} * {h}({} * {x} + {}))", l(1.0 / 6.0), l(0.5))
            }
            ThresholdedRelu { alpha } => format!("({x} > {} ? {x} : {z})", c(*alpha)),
            Shrink { lambd, bias } => {
                let (lm, b) = (c(*lambd), c(*bias));
                format!("({x} < -{lm} ? {x} + {b} : ({x} > {lm} ? {x} - {b} : {z}))")
            }
            Gelu { tanh: false } => format!(
                "({} * {x} * ({one} + {}({x} * {})))",
                l(0.5),
                fm("erf", dt),
                l(std::f64::consts::FRAC_1_SQRT_2)
            ),
            Gelu { tanh: true } => format!(
                "({} * {x} * ({one} + {}({} * ({x} + {} * {x} * {x} * {x}))))",
                l(0.5),
                fm("tanh", dt),
                l((2.0 / std::f64::consts::PI).sqrt()),
                l(0.044715)
            ),
            Mish => {
                let sp = self.h.need(&format!("sl_softplus_{s}"));
                format!("({x} * {}({sp}({x})))", fm("tanh", dt))
            }
            Swish { alpha } => {
                let sg = self.h.need(&format!("sl_sigmoid_{s}"));
                format!("({x} * {sg}({} * {x}))", c(*alpha))
            }
            Not | BitwiseNot => return Err(unsupported(u.name(), dt)),
        })
    }

    fn int_unary(&mut self, u: &UnaryOp, x: &str, dt: DType) -> R<String> {
        use UnaryOp::*;
        let (t, uty) = (ctype(dt), utype(dt));
        let signed = dt.is_signed_int();
        let neg = format!("({t})(({uty})0 - ({uty}){x})");
        Ok(match u {
            Abs if signed => format!("({x} < 0 ? {neg} : {x})"),
            Abs => x.to_string(),
            Neg => neg,
            Sign if signed => format!("({t})({x} > 0 ? 1 : ({x} < 0 ? -1 : 0))"),
            Sign => format!("({t})({x} > 0 ? 1 : 0)"),
            Relu if signed => format!("({x} < 0 ? ({t})0 : {x})"),
            Relu => x.to_string(),
            BitwiseNot => format!("({t})(~{x})"),
            Shrink { lambd, bias } => {
                // Through f64 and back with Rust `as` semantics, as the CPU kernel.
                let f = self.h.need(&format!("sl_f2i_{}", dt.name()));
                let (lm, nlm, b) = (
                    float_lit(false, *lambd as f64),
                    float_lit(false, -(*lambd as f64)),
                    float_lit(false, *bias as f64),
                );
                let v = format!("(double){x}");
                format!("{f}({v} < {nlm} ? {v} + {b} : ({v} > {lm} ? {v} - {b} : 0.0))")
            }
            _ => return Err(unsupported(u.name(), dt)),
        })
    }

    fn binary(&mut self, b: &BinaryOp, xr: Reg, yr: Reg) -> R<String> {
        use BinaryOp::*;
        let (dx, dy) = (self.p.dtype(xr), self.p.dtype(yr));
        let (x, y) = (self.reg(xr), self.reg(yr));
        storage_type(dx)?;
        storage_type(dy)?;
        if *b == Pow {
            return self.pow(&x, dx, &y, dy);
        }
        if dx != dy {
            return Err(format!("{} operands have different dtypes {dx} and {dy}", b.name()));
        }
        let dt = dx;
        let cmp = |op: &str| format!("({x} {op} {y})");
        match b {
            Equal => return Ok(cmp("==")),
            Less => return Ok(cmp("<")),
            LessOrEqual => return Ok(cmp("<=")),
            Greater => return Ok(cmp(">")),
            GreaterOrEqual => return Ok(cmp(">=")),
            And | Or | Xor if dt == DType::Bool => {
                let op = match b {
                    And => "&&",
                    Or => "||",
                    _ => "!=",
                };
                return Ok(cmp(op));
            }
            _ if dt == DType::Bool => return Err(unsupported(b.name(), dt)),
            _ => {}
        }
        if dt.is_float() {
            let s = fsfx(dt);
            return Ok(match b {
                Add => cmp("+"),
                Sub => cmp("-"),
                Mul => cmp("*"),
                Div => cmp("/"),
                Mod { fmod: true } => format!("{}({x}, {y})", fm("fmod", dt)),
                Mod { fmod: false } => format!("{}({x}, {y})", self.h.need(&format!("sl_mod_{s}"))),
                PRelu => format!("({x} < {z} ? {y} * {x} : {x})", z = Self::fl(dt, 0.0)),
                _ => return Err(unsupported(b.name(), dt)),
            });
        }
        let (t, u) = (ctype(dt), utype(dt));
        let n = dt.name();
        let wrap = |op: &str| format!("({t})(({u}){x} {op} ({u}){y})");
        let signed = dt.is_signed_int();
        Ok(match b {
            Add => wrap("+"),
            Sub => wrap("-"),
            Mul => wrap("*"),
            Div => format!("{}({x}, {y})", self.h.need(&format!("sl_div_{n}"))),
            Mod { fmod } if *fmod || !signed => format!("{}({x}, {y})", self.h.need(&format!("sl_rem_{n}"))),
            Mod { .. } => format!("{}({x}, {y})", self.h.need(&format!("sl_mod_{n}"))),
            PRelu if signed => format!("({x} < 0 ? ({t})(({u}){y} * ({u}){x}) : {x})"),
            PRelu => x,
            BitwiseAnd => format!("({t})({x} & {y})"),
            BitwiseOr => format!("({t})({x} | {y})"),
            BitwiseXor => format!("({t})({x} ^ {y})"),
            BitShift { left } => {
                // Shift amounts of at least the width (negative ones included) give 0.
                let w = dt.size() * 8;
                let shifted = if *left {
                    format!("({t})(({u}){x} << (int){y})")
                } else {
                    format!("({t})({x} >> (int){y})")
                };
                format!("((unsigned long long){y} >= {w}ULL ? ({t})0 : {shifted})")
            }
            _ => return Err(unsupported(b.name(), dt)),
        })
    }

    /// Pow with the CPU's dtype rules: float bases compute in their compute type with the
    /// exponent converted to it; integer bases use wrapping integer powers for integer
    /// exponents and f64 (truncated back) for float exponents.
    fn pow(&mut self, x: &str, dx: DType, y: &str, dy: DType) -> R<String> {
        if !dx.is_numeric() {
            return Err(unsupported("Pow", dx));
        }
        if !dy.is_numeric() {
            return Err(unsupported("Pow", dy));
        }
        if dx.is_float() {
            let ct = if dx == DType::F64 { DType::F64 } else { DType::F32 };
            let e = if dy == dx { y.to_string() } else { self.cast(y, dy, ct)? };
            return Ok(format!("{}({x}, {e})", fm("pow", ct)));
        }
        let n = dx.name();
        if dy.is_int() {
            let f = self.h.need(&format!("sl_ipow_{n}"));
            return Ok(format!("{f}({x}, (long long){y})"));
        }
        let f = self.h.need(&format!("sl_f2i_{n}"));
        Ok(format!("{f}(pow((double){x}, (double){y}))"))
    }
}

/// The registers an instruction's code reads: CastLike only takes its second operand's
/// dtype, and PRelu on unsigned integers is the identity.
fn reads(inst: &Inst) -> Vec<Reg> {
    let all = inst.args.iter().flatten().copied();
    let unsigned_prelu =
        inst.op == ElementwiseOp::Binary(BinaryOp::PRelu) && inst.dtype.is_int() && !inst.dtype.is_signed_int();
    if inst.op == ElementwiseOp::CastLike || unsigned_prelu {
        all.take(1).collect()
    } else {
        all.collect()
    }
}

/// The CPU's dtype rules for one instruction: its kernel must accept the operands and
/// produce the declared dtype.
fn check(p: &ElementwiseProgram, inst: &Inst) -> R<()> {
    let name = OpImpl::name(&inst.op);
    let dts: Vec<Option<DType>> = inst.args.iter().map(|a| a.map(|r| p.dtype(r))).collect();
    if dts.iter().flatten().chain([&inst.dtype]).any(|&d| d == DType::Str) {
        return Err(unsupported(name, DType::Str));
    }
    let tys: Vec<Option<TensorType>> = dts
        .iter()
        .map(|d| d.map(|dtype| TensorType { dtype, shape: None }))
        .collect();
    let inputs: Vec<InferInput> = tys
        .iter()
        .map(|t| InferInput {
            ty: t.as_ref(),
            value: None,
        })
        .collect();
    let out = OpImpl::infer(&inst.op, &inputs).map_err(|e| e.to_string())?;
    match out.first() {
        Some(t) if t.dtype == inst.dtype => Ok(()),
        Some(t) => Err(format!(
            "{name} produces {}, the program declares {}",
            t.dtype, inst.dtype
        )),
        None => Err(format!("{name} produces no output")),
    }
}

/// Render `p` as one CUDA C source with entry point `suanli_ew` (see the module docs).
pub fn render(p: &ElementwiseProgram) -> R<String> {
    p.validate().map_err(|e| e.to_string())?;
    let nin = p.inputs.len();
    if nin > MAX_INPUTS {
        return Err(format!(
            "{nin} inputs exceed the CUDA elementwise limit of {MAX_INPUTS}"
        ));
    }
    for inst in &p.insts {
        check(p, inst)?;
    }
    // Only what the outputs depend on is emitted (no unused-variable warnings).
    let mut live = vec![false; nin + p.insts.len()];
    for &r in &p.outputs {
        live[r] = true;
    }
    for k in (0..p.insts.len()).rev() {
        if live[nin + k] {
            for r in reads(&p.insts[k]) {
                live[r] = true;
            }
        }
    }
    let mut cx = Ctx {
        p,
        h: Helpers::default(),
    };
    let mut body = String::new();
    for (k, d) in p.inputs.iter().enumerate() {
        storage_type(*d)?;
        if live[k] {
            let e = load(&mut cx.h, *d, k, &format!("o{k}"));
            let _ = writeln!(body, "    const {} r{k} = {e};", ctype(*d));
        }
    }
    for (k, inst) in p.insts.iter().enumerate() {
        let r = nin + k;
        // Unused instructions are checked (a program renders only when all of it can) but
        // emit nothing, helpers included.
        let saved = (!live[r]).then(|| std::mem::take(&mut cx.h));
        let lines = cx.inst(r, &inst.op, &inst.args, inst.dtype)?;
        match saved {
            Some(h) => cx.h = h,
            None => {
                for l in lines {
                    let _ = writeln!(body, "    {l}");
                }
            }
        }
    }
    for (j, &r) in p.outputs.iter().enumerate() {
        let e = store(&mut cx.h, p.dtype(r), &format!("r{r}"));
        let _ = writeln!(body, "    out{j}[i] = {e};");
    }

    let mut ptrs = Vec::new();
    for (k, d) in p.inputs.iter().enumerate() {
        ptrs.push(format!("const {}* __restrict__ in{k}", storage_type(*d)?));
    }
    for (j, d) in p.output_dtypes().iter().enumerate() {
        ptrs.push(format!("{}* __restrict__ out{j}", storage_type(*d)?));
    }
    let sig = |d: &[DType]| d.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ");
    let title = format!(
        "suanli elementwise program ({}) -> ({})",
        sig(&p.inputs),
        sig(&p.output_dtypes())
    );
    Ok(kernel_source(
        &title,
        nin,
        p.outputs.len(),
        &ptrs,
        &cx.h.source(),
        &body,
    ))
}
