//! The WGSL dialect of the elementwise program.
//!
//! Storage follows the wgpu device's rules: 1- and 2-byte integers and bools are widened to
//! 32 bits (bools hold 0/1), f16 is `f16` storage computed in f32 and rounded after each
//! instruction, 64-bit types use naga's `i64`/`u64`/`f64`. Registers holding a narrow integer
//! are wrapped to their width after every instruction, so results match the CPU bit for bit.
//!
//! Bindings: 0 = `array<u32>` params, then one per input, then one per output. Params:
//! `[n, rank, any_strided, out_dims[rank], mode[inputs], strides[inputs][rank]]` where mode 0
//! reads element `i` (same shape as the output) and mode 1 walks `strides` (0 on broadcast dims).

use super::elementwise::{ElementwiseProgram, Reg};
use crate::dtype::DType;
use crate::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp, VariadicOp};
use std::collections::BTreeSet;
use std::fmt::Write;

type R<T> = std::result::Result<T, String>;

/// The WGSL type a dtype is stored as.
pub fn storage_type(dt: DType) -> R<&'static str> {
    Ok(match dt {
        DType::F32 => "f32",
        DType::F16 => "f16",
        DType::F64 => "f64",
        DType::I8 | DType::I16 | DType::I32 => "i32",
        DType::U8 | DType::U16 | DType::U32 | DType::Bool => "u32",
        DType::I64 => "i64",
        DType::U64 => "u64",
        DType::BF16 | DType::Str => return Err(format!("{dt} has no WGSL representation")),
    })
}

/// The WGSL type a register of `dt` is computed in.
pub fn compute_type(dt: DType) -> R<&'static str> {
    Ok(match dt {
        DType::F16 => "f32",
        DType::Bool => "bool",
        d => storage_type(d)?,
    })
}

/// A literal of compute type `ct`.
fn lit(ct: &str, v: f64) -> String {
    match ct {
        "f32" if v.is_nan() => "bitcast<f32>(0x7fc00000u)".into(),
        "f32" if v.is_infinite() => format!("bitcast<f32>({}u)", if v > 0.0 { 0x7f80_0000u32 } else { 0xff80_0000 }),
        "f32" => format!("{:?}f", v as f32),
        "f64" => format!("{:?}lf", v),
        "i32" => format!("{}i", v as i32),
        "u32" => format!("{}u", v as u32),
        "i64" => format!("{}li", v as i64),
        "u64" => format!("{}lu", v as u64),
        "bool" => (v != 0.0).to_string(),
        _ => format!("{ct}({v})"),
    }
}

/// Bits of the logical integer width (for shifts).
fn width(dt: DType) -> u32 {
    (dt.size() * 8) as u32
}

struct Ctx<'a> {
    p: &'a ElementwiseProgram,
    helpers: BTreeSet<&'static str>,
    ipow: BTreeSet<String>,
}

/// Helper functions, emitted only when used.
fn helper_source(name: &str) -> &'static str {
    match name {
        "erf" => {
            "fn erf_f32(x: f32) -> f32 {
    // Chebyshev-fitted erfc with fractional error below 1.2e-7.
    let z = abs(x);
    let t = 1.0 / (1.0 + 0.5 * z);
    let p = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
        + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let r = 1.0 - t * exp(p);
    return select(-r, r, x >= 0.0);
}
"
        }
        "sigmoid" => {
            "fn sigmoid_f32(x: f32) -> f32 {
    if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
    let e = exp(x);
    return e / (1.0 + e);
}
"
        }
        "tanh" => {
            "fn tanh_f32(x: f32) -> f32 {
    // Saturates cleanly for large |x| where exp-based builtins may overflow.
    if (abs(x) < 0.55) {
        let x2 = x * x;
        return x * (1.0 + x2 * (-0.33333333 + x2 * (0.13333333 + x2 * (-0.053968254 + x2 * 0.021869488))));
    }
    let t = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - t) / (1.0 + t);
}
"
        }
        "softplus" => {
            "fn log1p_f32(x: f32) -> f32 {
    let u = 1.0 + x;
    if (u == 1.0) { return x; }
    return log(u) * x / (u - 1.0);
}
fn softplus_f32(x: f32) -> f32 {
    if (x > 0.0) { return x + log1p_f32(exp(-x)); }
    return log1p_f32(exp(x));
}
"
        }
        "pow" => {
            "fn pow_f32(x: f32, y: f32) -> f32 {
    if (y == 0.0) { return 1.0; }
    if (x == 0.0) { return select(0.0, bitcast<f32>(0x7f800000u), y < 0.0); }
    let m = pow(abs(x), y);
    if (x > 0.0) { return m; }
    if (y != floor(y)) { return bitcast<f32>(0x7fc00000u); }
    let odd = abs(y - 2.0 * floor(y * 0.5)) == 1.0;
    return select(m, -m, odd);
}
"
        }
        "isnan" => {
            "fn isnan_f32(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}
"
        }
        _ => "",
    }
}

/// Integer power `x^e` (wrapping, as the CPU kernel) for base type `ct` and exponent type `et`.
fn ipow_source(ct: &str, et: &str) -> String {
    let (one, zero) = (lit(ct, 1.0), lit(ct, 0.0));
    let neg1 = if ct.starts_with('u') {
        one.clone()
    } else {
        format!("-{one}")
    };
    let (e0, e1) = (lit(et, 0.0), lit(et, 1.0));
    format!(
        "fn ipow_{ct}_{et}(x: {ct}, e: {et}) -> {ct} {{
    if (e < {e0}) {{
        if (x == {one}) {{ return {one}; }}
        if (x == {neg1}) {{ return select({one}, {neg1}, (e & {e1}) == {e1}); }}
        return {zero};
    }}
    var r = {one};
    var b = x;
    var k = e;
    loop {{
        if (k == {e0}) {{ break; }}
        if ((k & {e1}) == {e1}) {{ r = r * b; }}
        b = b * b;
        k = k >> 1u;
    }}
    return r;
}}
"
    )
}

impl Ctx<'_> {
    fn reg(&self, r: Reg) -> String {
        format!("r{r}")
    }

    fn unsupported(op: &str, dt: DType) -> String {
        format!("{op} on {dt} has no WGSL kernel")
    }

    /// The expression for one instruction (before narrow-integer / f16 wrapping).
    fn expr(&mut self, op: &ElementwiseOp, args: &[Option<Reg>], out: DType) -> R<String> {
        let a = |i: usize| -> R<Reg> {
            args.get(i)
                .copied()
                .flatten()
                .ok_or_else(|| format!("operand {i} missing"))
        };
        match op {
            ElementwiseOp::Unary(u) => {
                let x = a(0)?;
                self.unary(u, &self.reg(x), self.p.dtype(x))
            }
            ElementwiseOp::Binary(b) => {
                let (x, y) = (a(0)?, a(1)?);
                self.binary(b, x, y)
            }
            ElementwiseOp::Variadic(v) => {
                let regs: Vec<Reg> = args.iter().flatten().copied().collect();
                let dt = out;
                let ct = compute_type(dt)?;
                if regs.is_empty() {
                    return Err("variadic op without inputs".into());
                }
                let mut acc = self.reg(regs[0]);
                for &r in &regs[1..] {
                    let y = self.reg(r);
                    acc = match v {
                        VariadicOp::Sum | VariadicOp::Mean => format!("({acc} + {y})"),
                        VariadicOp::Max | VariadicOp::Min => self.minmax(matches!(v, VariadicOp::Max), &acc, &y, dt)?,
                    };
                }
                if *v == VariadicOp::Mean {
                    if !dt.is_float() {
                        return Err(Self::unsupported("Mean", dt));
                    }
                    acc = format!("({acc} / {})", lit(ct, regs.len() as f64));
                }
                Ok(acc)
            }
            ElementwiseOp::Where => {
                let (c, x, y) = (a(0)?, a(1)?, a(2)?);
                Ok(format!("select({}, {}, {})", self.reg(y), self.reg(x), self.reg(c)))
            }
            ElementwiseOp::Cast { to } => self.cast(a(0)?, *to),
            ElementwiseOp::CastLike => self.cast(a(0)?, out),
            ElementwiseOp::Clip { min, max } => {
                let x = a(0)?;
                let dt = self.p.dtype(x);
                let ct = compute_type(dt)?;
                let lo = match args.get(1).copied().flatten() {
                    Some(r) => Some(self.reg(r)),
                    None => min.map(|v| lit(ct, v as f64)),
                };
                let hi = match args.get(2).copied().flatten() {
                    Some(r) => Some(self.reg(r)),
                    None => max.map(|v| lit(ct, v as f64)),
                };
                let mut e = self.reg(x);
                if let Some(l) = lo {
                    e = format!("select({e}, {l}, {e} < {l})");
                }
                if let Some(h) = hi {
                    e = format!("select({e}, {h}, {e} > {h})");
                }
                Ok(e)
            }
        }
    }

    /// A NaN test that survives drivers' float optimisations (a bit test for f32).
    fn isnan(&mut self, ct: &str, x: &str) -> String {
        if ct == "f32" {
            self.helpers.insert("isnan");
            format!("isnan_f32({x})")
        } else {
            format!("({x} != {x})")
        }
    }

    fn minmax(&mut self, max: bool, x: &str, y: &str, dt: DType) -> R<String> {
        if dt.is_float() {
            // NaN in the first operand propagates, as in the CPU kernel.
            let cmp = if max { ">=" } else { "<=" };
            let nan = self.isnan(compute_type(dt)?, x);
            Ok(format!("select({y}, {x}, {nan} || {x} {cmp} {y})"))
        } else if dt == DType::Bool {
            Err(Self::unsupported(if max { "Max" } else { "Min" }, dt))
        } else {
            Ok(format!("{}({x}, {y})", if max { "max" } else { "min" }))
        }
    }

    fn unary(&mut self, u: &UnaryOp, x: &str, dt: DType) -> R<String> {
        use UnaryOp::*;
        let ct = compute_type(dt)?;
        let l = |v: f64| lit(ct, v);
        if dt == DType::Bool {
            return match u {
                Not => Ok(format!("!{x}")),
                _ => Err(Self::unsupported(u.name(), dt)),
            };
        }
        if !dt.is_float() {
            let signed = matches!(dt, DType::I8 | DType::I16 | DType::I32 | DType::I64);
            return Ok(match u {
                Abs if signed => format!("abs({x})"),
                Abs => x.to_string(),
                Neg => format!("({} - {x})", l(0.0)),
                Sign if signed => format!(
                    "select(select({}, {}, {x} < {}), {}, {x} > {})",
                    l(0.0),
                    format!("-{}", l(1.0)),
                    l(0.0),
                    l(1.0),
                    l(0.0)
                ),
                Sign => format!("select({}, {}, {x} > {})", l(0.0), l(1.0), l(0.0)),
                Relu => format!("max({x}, {})", l(0.0)),
                BitwiseNot => format!("(~{x})"),
                _ => return Err(Self::unsupported(u.name(), dt)),
            });
        }
        let f64_ok = matches!(
            u,
            Abs | Neg
                | Reciprocal
                | Sqrt
                | Ceil
                | Floor
                | Round
                | Sign
                | Relu
                | LeakyRelu { .. }
                | ThresholdedRelu { .. }
                | Shrink { .. }
                | HardSigmoid { .. }
                | HardSwish
                | Softsign
        );
        if dt == DType::F64 && !f64_ok {
            return Err(format!(
                "{} on f64 needs a transcendental Vulkan lacks for 64-bit floats",
                u.name()
            ));
        }
        let z = l(0.0);
        let one = l(1.0);
        let clamp01 = |e: String| format!("clamp({e}, {z}, {one})");
        Ok(match u {
            Abs => format!("abs({x})"),
            Neg => format!("(-{x})"),
            Reciprocal => format!("({one} / {x})"),
            // Through atan2: some drivers' asin/acos are off by ~1e-4.
            Asin => format!("atan2({x}, sqrt(max(1.0 - {x} * {x}, 0.0)))"),
            Acos => format!("atan2(sqrt(max(1.0 - {x} * {x}, 0.0)), {x})"),
            Sqrt | Exp | Log | Sin | Cos | Tan | Atan | Sinh | Cosh | Asinh | Acosh | Atanh | Ceil | Floor | Round => {
                format!("{}({x})", u.name().to_ascii_lowercase())
            }
            Sign => format!("sign({x})"),
            Erf => {
                self.helpers.insert("erf");
                format!("erf_f32({x})")
            }
            IsNaN | IsInf { .. } if dt == DType::F64 => return Err(Self::unsupported(u.name(), dt)),
            IsNaN => {
                self.helpers.insert("isnan");
                format!("isnan_f32({x})")
            }
            IsInf {
                detect_positive,
                detect_negative,
            } => {
                let inf = format!("((bitcast<u32>({x}) & 0x7fffffffu) == 0x7f800000u)");
                match (detect_positive, detect_negative) {
                    (true, true) => inf,
                    (true, false) => format!("({inf} && {x} > 0.0)"),
                    (false, true) => format!("({inf} && {x} < 0.0)"),
                    (false, false) => "false".into(),
                }
            }
            Relu => format!("select({x}, {z}, {x} < {z})"),
            Sigmoid => {
                self.helpers.insert("sigmoid");
                format!("sigmoid_f32({x})")
            }
            Tanh => {
                self.helpers.insert("tanh");
                format!("tanh_f32({x})")
            }
            Softsign => format!("({x} / ({one} + abs({x})))"),
            Softplus => {
                self.helpers.insert("softplus");
                format!("softplus_f32({x})")
            }
            LeakyRelu { alpha } => format!("select({x}, {} * {x}, {x} < {z})", l(*alpha as f64)),
            Elu { alpha } => format!("select({x}, {} * (exp({x}) - 1.0), {x} < {z})", l(*alpha as f64)),
            Selu { alpha, gamma } => {
                let (a, g) = (l(*alpha as f64), l(*gamma as f64));
                format!("select({g} * ({a} * exp({x}) - {a}), {g} * {x}, {x} > {z})")
            }
            Celu { alpha } => {
                let a = l(*alpha as f64);
                format!("select({a} * (exp({x} / {a}) - 1.0), {x}, {x} > {z})")
            }
            HardSigmoid { alpha, beta } => clamp01(format!("({} * {x} + {})", l(*alpha as f64), l(*beta as f64))),
            HardSwish => format!("({x} * {})", clamp01(format!("({} * {x} + {})", l(1.0 / 6.0), l(0.5)))),
            ThresholdedRelu { alpha } => format!("select({z}, {x}, {x} > {})", l(*alpha as f64)),
            Shrink { lambd, bias } => {
                let (lm, b) = (l(*lambd as f64), l(*bias as f64));
                format!("select(select({z}, {x} - {b}, {x} > {lm}), {x} + {b}, {x} < -{lm})")
            }
            Gelu { tanh: false } => {
                self.helpers.insert("erf");
                format!("(0.5 * {x} * (1.0 + erf_f32({x} * 0.70710678118654752)))")
            }
            Gelu { tanh: true } => {
                self.helpers.insert("tanh");
                format!("(0.5 * {x} * (1.0 + tanh_f32(0.79788456080286536 * ({x} + 0.044715 * {x} * {x} * {x}))))")
            }
            Mish => {
                self.helpers.insert("tanh");
                self.helpers.insert("softplus");
                format!("({x} * tanh_f32(softplus_f32({x})))")
            }
            Swish { alpha } => {
                self.helpers.insert("sigmoid");
                format!("({x} * sigmoid_f32({} * {x}))", l(*alpha as f64))
            }
            Not | BitwiseNot => return Err(Self::unsupported(u.name(), dt)),
        })
    }

    fn binary(&mut self, b: &BinaryOp, xr: Reg, yr: Reg) -> R<String> {
        use BinaryOp::*;
        let (dx, dy) = (self.p.dtype(xr), self.p.dtype(yr));
        let (x, y) = (self.reg(xr), self.reg(yr));
        let ct = compute_type(dx)?;
        let z = lit(ct, 0.0);
        let float = dx.is_float();
        if dx == DType::F64 && matches!(b, Pow) {
            return Err("Pow on f64 needs a transcendental Vulkan lacks for 64-bit floats".into());
        }
        if dx == DType::Bool
            && !matches!(
                b,
                Equal | Less | LessOrEqual | Greater | GreaterOrEqual | And | Or | Xor
            )
        {
            return Err(Self::unsupported(b.name(), dx));
        }
        let cmp = |op: &str| {
            if dx == DType::Bool {
                format!("(u32({x}) {op} u32({y}))")
            } else {
                format!("({x} {op} {y})")
            }
        };
        Ok(match b {
            Add => format!("({x} + {y})"),
            Sub => format!("({x} - {y})"),
            Mul => format!("({x} * {y})"),
            Div if float => format!("({x} / {y})"),
            Div => format!("select({x} / {y}, {z}, {y} == {z})"),
            Mod { fmod: true } if float => format!("({x} % {y})"),
            Mod { fmod } => {
                let r = if float {
                    format!("({x} % {y})")
                } else {
                    format!("select({x} % {y}, {z}, {y} == {z})")
                };
                if *fmod {
                    r
                } else {
                    // The result takes the divisor's sign.
                    self.helpers.insert(match ct {
                        "f32" => "pymod_f32",
                        "f64" => "pymod_f64",
                        "i32" => "pymod_i32",
                        "u32" => "pymod_u32",
                        "i64" => "pymod_i64",
                        _ => "pymod_u64",
                    });
                    format!("pymod_{ct}({r}, {y})")
                }
            }
            Pow if float => {
                if !dy.is_float() && !dy.is_int() {
                    return Err(Self::unsupported("Pow", dy));
                }
                self.helpers.insert("pow");
                format!("pow_f32({x}, f32({y}))")
            }
            Pow => {
                if !dy.is_int() {
                    return Err("Pow with an integer base and a float exponent has no WGSL kernel".into());
                }
                let et = compute_type(dy)?;
                let name = format!("ipow_{ct}_{et}");
                self.ipow.insert(name.clone());
                format!("{name}({x}, {y})")
            }
            Equal => cmp("=="),
            Less => cmp("<"),
            LessOrEqual => cmp("<="),
            Greater => cmp(">"),
            GreaterOrEqual => cmp(">="),
            And => format!("({x} && {y})"),
            Or => format!("({x} || {y})"),
            Xor => format!("({x} != {y})"),
            BitwiseAnd => format!("({x} & {y})"),
            BitwiseOr => format!("({x} | {y})"),
            BitwiseXor => format!("({x} ^ {y})"),
            BitShift { left } => {
                let w = width(dx);
                let op = if *left { "<<" } else { ">>" };
                let in_range = match compute_type(dy)? {
                    "u32" => format!("{y} < {w}u"),
                    "i32" => format!("u32({y}) < {w}u"),
                    _ => format!("u64({y}) < {w}lu"),
                };
                format!("select({z}, {x} {op} u32({y}), {in_range})")
            }
            PRelu => format!("select({x}, {y} * {x}, {x} < {z})"),
        })
    }

    fn cast(&mut self, xr: Reg, to: DType) -> R<String> {
        let from = self.p.dtype(xr);
        let x = self.reg(xr);
        let (cf, ct) = (compute_type(from)?, compute_type(to)?);
        if from == to {
            return Ok(x);
        }
        if to == DType::Bool {
            return Ok(format!("({x} != {})", lit(cf, 0.0)));
        }
        if from == DType::Bool {
            return Ok(format!("select({}, {}, {x})", lit(ct, 0.0), lit(ct, 1.0)));
        }
        if from.is_float() && !to.is_float() {
            // Truncate toward zero, saturate to the target's range, NaN -> 0 (Rust `as`).
            let (lo, hi, max_int): (f64, f64, &str) = match to {
                DType::I8 => (-128.0, 127.0, "127i"),
                DType::U8 => (0.0, 255.0, "255u"),
                DType::I16 => (-32768.0, 32767.0, "32767i"),
                DType::U16 => (0.0, 65535.0, "65535u"),
                DType::I32 => (-2147483648.0, 2147483648.0, "2147483647i"),
                DType::U32 => (0.0, 4294967296.0, "4294967295u"),
                DType::I64 => (
                    -9.223372036854775808e18,
                    9.223372036854775808e18,
                    "9223372036854775807li",
                ),
                _ => (0.0, 1.8446744073709551616e19, "18446744073709551615lu"),
            };
            // `hi` itself may not convert; values at or above it take the integer maximum.
            let (l, h) = (lit(cf, lo), lit(cf, hi));
            let nan = self.isnan(cf, &x);
            let conv = format!("{ct}(clamp(trunc({x}), {l}, {h}))");
            return Ok(format!(
                "select(select({conv}, {max_int}, {x} >= {h}), {}, {nan})",
                lit(ct, 0.0)
            ));
        }
        if cf == "i32" && ct == "u64" {
            // Sign-extend first: a direct i32 -> u64 conversion zero-extends.
            return Ok(format!("u64(i64({x}))"));
        }
        Ok(format!("{ct}({x})"))
    }
}

/// Wrap a freshly computed value of logical dtype `dt` to its width (narrow ints, f16).
fn wrap(dt: DType, e: String) -> String {
    match dt {
        DType::I8 => format!("(({e} << 24u) >> 24u)"),
        DType::I16 => format!("(({e} << 16u) >> 16u)"),
        DType::U8 => format!("({e} & 0xffu)"),
        DType::U16 => format!("({e} & 0xffffu)"),
        DType::F16 => format!("f32(f16({e}))"),
        _ => e,
    }
}

fn load(dt: DType, e: String) -> String {
    match dt {
        DType::F16 => format!("f32({e})"),
        DType::Bool => format!("({e} != 0u)"),
        _ => e,
    }
}

fn store(dt: DType, e: String) -> String {
    match dt {
        DType::F16 => format!("f16({e})"),
        DType::Bool => format!("select(0u, 1u, {e})"),
        _ => e,
    }
}

/// Render `p` as one WGSL compute shader with entry point `main` (workgroups of 256, grids
/// split over y past 65535 workgroups).
pub fn render(p: &ElementwiseProgram) -> R<String> {
    p.validate().map_err(|e| e.to_string())?;
    let mut cx = Ctx {
        p,
        helpers: BTreeSet::new(),
        ipow: BTreeSet::new(),
    };
    let nin = p.inputs.len();
    let mut body = String::new();
    for (k, inst) in p.insts.iter().enumerate() {
        let e = cx.expr(&inst.op, &inst.args, inst.dtype)?;
        let _ = writeln!(body, "    let r{} = {};", nin + k, wrap(inst.dtype, e));
    }
    let mut dtypes: Vec<DType> = p.inputs.clone();
    dtypes.extend(p.output_dtypes());
    let mut s = String::new();
    if dtypes.contains(&DType::F16) {
        s.push_str("enable f16;\n");
    }
    s.push_str("@group(0) @binding(0) var<storage, read> P: array<u32>;\n");
    for (i, d) in p.inputs.iter().enumerate() {
        let _ = writeln!(
            s,
            "@group(0) @binding({}) var<storage, read> in{i}: array<{}>;",
            i + 1,
            storage_type(*d)?
        );
    }
    for (j, d) in p.output_dtypes().iter().enumerate() {
        let _ = writeln!(
            s,
            "@group(0) @binding({}) var<storage, read_write> out{j}: array<{}>;",
            nin + j + 1,
            storage_type(*d)?
        );
    }
    for h in &cx.helpers {
        if let Some(ct) = h.strip_prefix("pymod_") {
            let z = lit(ct, 0.0);
            let _ = writeln!(
                s,
                "fn pymod_{ct}(r: {ct}, y: {ct}) -> {ct} {{ return select(r, r + y, r != {z} && ((r < {z}) != (y < {z}))); }}"
            );
        } else {
            s.push_str(helper_source(h));
        }
    }
    for name in &cx.ipow {
        let mut parts = name.split('_').skip(1);
        if let (Some(ct), Some(et)) = (parts.next(), parts.next()) {
            s.push_str(&ipow_source(ct, et));
        }
    }
    s.push_str(
        "@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
    if (i >= P[0]) { return; }
    let rank = P[1];
",
    );
    for k in 0..nin {
        let _ = writeln!(s, "    var o{k} = i;");
    }
    if nin > 0 {
        s.push_str("    if (P[2] != 0u) {\n        var rem = i;\n");
        for k in 0..nin {
            let _ = writeln!(s, "        var a{k} = 0u;");
        }
        s.push_str("        for (var d = rank; d > 0u; d = d - 1u) {\n            let dim = P[2u + d];\n            let c = rem % dim;\n            rem = rem / dim;\n");
        for k in 0..nin {
            let _ = writeln!(
                s,
                "            a{k} = a{k} + c * P[3u + rank + {nin}u + {k}u * rank + d - 1u];"
            );
        }
        s.push_str("        }\n");
        for k in 0..nin {
            let _ = writeln!(s, "        if (P[3u + rank + {k}u] != 0u) {{ o{k} = a{k}; }}");
        }
        s.push_str("    }\n");
    }
    for (k, d) in p.inputs.iter().enumerate() {
        let _ = writeln!(s, "    let r{k} = {};", load(*d, format!("in{k}[o{k}]")));
    }
    s.push_str(&body);
    for (j, &r) in p.outputs.iter().enumerate() {
        let _ = writeln!(s, "    out{j}[i] = {};", store(p.dtype(r), format!("r{r}")));
    }
    s.push_str("}\n");
    Ok(s)
}

/// Params for `render`'s shader: output shape and each input's shape (broadcast to it).
pub fn params(out: &[usize], inputs: &[&[usize]]) -> Vec<u32> {
    let rank = out.len();
    let n: usize = out.iter().product();
    let mut modes = Vec::with_capacity(inputs.len());
    let mut strides = Vec::with_capacity(inputs.len() * rank);
    for s in inputs {
        let same = *s == out;
        modes.push(u32::from(!same));
        // Right-align, stride 0 on broadcast dims.
        let mut st = vec![0u32; rank];
        let mut acc = 1usize;
        for (k, &d) in s.iter().enumerate().rev() {
            let pos = rank - (s.len() - k);
            st[pos] = if d == 1 { 0 } else { acc as u32 };
            acc *= d;
        }
        strides.extend(st);
    }
    let any = modes.iter().any(|&m| m != 0);
    let mut p = vec![n as u32, rank as u32, u32::from(any)];
    p.extend(out.iter().map(|&d| d as u32));
    p.extend(modes);
    p.extend(strides);
    p
}
