//! Device helper functions for the CUDA dialect: half-precision conversions through inline
//! PTX, integer division/power with the CPU kernels' wrapping and division-by-zero rules,
//! saturating float-to-integer conversion, and the numerically careful float activations.
//!
//! Also the C types and literals, input loads and output stores, and the kernel skeleton
//! around a program's per-element body.
//!
//! Helpers are named `sl_<what>[_<dtype>]` and generated on demand; [`Helpers::need`] emits a
//! helper's dependencies before the helper itself, so the collected source compiles in order.

use crate::dtype::DType;
use std::fmt::Write;

/// The C type a register of `dt` is computed in (half floats in `float`, bools as `bool`).
pub(super) fn ctype(dt: DType) -> &'static str {
    match dt {
        DType::F32 | DType::F16 | DType::BF16 => "float",
        DType::F64 => "double",
        DType::I8 => "signed char",
        DType::U8 => "unsigned char",
        DType::I16 => "short",
        DType::U16 => "unsigned short",
        DType::I32 => "int",
        DType::U32 => "unsigned int",
        DType::I64 => "long long",
        DType::U64 => "unsigned long long",
        DType::Bool | DType::Str => "bool",
    }
}

/// The unsigned C type integer arithmetic of `dt` wraps in (at least 32 bits wide, so narrow
/// operands never hit signed-overflow undefined behaviour after promotion).
pub(super) fn utype(dt: DType) -> &'static str {
    if dt.size() == 8 {
        "unsigned long long"
    } else {
        "unsigned int"
    }
}

/// The integer range of `dt` as (min, max).
pub(super) fn int_range(dt: DType) -> (i128, i128) {
    match dt {
        DType::I8 => (i8::MIN as i128, i8::MAX as i128),
        DType::U8 => (0, u8::MAX as i128),
        DType::I16 => (i16::MIN as i128, i16::MAX as i128),
        DType::U16 => (0, u16::MAX as i128),
        DType::I32 => (i32::MIN as i128, i32::MAX as i128),
        DType::U32 => (0, u32::MAX as i128),
        DType::I64 => (i64::MIN as i128, i64::MAX as i128),
        _ => (0, u64::MAX as i128),
    }
}

/// An integer literal of dtype `dt` (`v` must lie in its range).
pub(super) fn int_lit(dt: DType, v: i128) -> String {
    match dt {
        DType::I64 if v == i64::MIN as i128 => "(-9223372036854775807LL - 1)".into(),
        DType::I64 => format!("{v}LL"),
        DType::U64 => format!("{v}ULL"),
        DType::I32 if v == i32::MIN as i128 => "(-2147483647 - 1)".into(),
        DType::I32 => format!("{v}"),
        DType::U32 => format!("{v}u"),
        _ => format!("(({}){v})", ctype(dt)),
    }
}

/// A float literal: `single` for `float`, else `double`. Negative values are parenthesised.
pub(super) fn float_lit(single: bool, v: f64) -> String {
    if v.is_nan() {
        return if single {
            "__int_as_float(0x7fc00000)".into()
        } else {
            "__longlong_as_double(0x7ff8000000000000LL)".into()
        };
    }
    if v.is_infinite() {
        let inf = if single {
            "__int_as_float(0x7f800000)"
        } else {
            "__longlong_as_double(0x7ff0000000000000LL)"
        };
        return if v > 0.0 { inf.into() } else { format!("(-{inf})") };
    }
    let s = if single {
        format!("{:?}f", v as f32)
    } else {
        format!("{v:?}")
    };
    if s.starts_with('-') {
        format!("({s})")
    } else {
        s
    }
}

/// The helper functions a program uses, in dependency order.
#[derive(Default)]
pub(super) struct Helpers {
    names: Vec<String>,
    sources: Vec<String>,
}

impl Helpers {
    /// Make sure helper `name` (and what it calls) is emitted; returns `name`.
    pub(super) fn need(&mut self, name: &str) -> String {
        if !self.names.iter().any(|n| n == name) {
            let (deps, src) = generate(name);
            for d in deps {
                self.need(&d);
            }
            self.names.push(name.to_string());
            self.sources.push(src);
        }
        name.to_string()
    }

    /// The collected source.
    pub(super) fn source(&self) -> String {
        self.sources.concat()
    }
}

const F: &str = "static __device__ __forceinline__";

/// Source of helper `name` and the helpers it calls.
fn generate(name: &str) -> (Vec<String>, String) {
    let d = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let src = match name {
        "sl_h2f" => format!(
            "{F} float sl_h2f(unsigned short h) {{ float f; asm(\"cvt.f32.f16 %0, %1;\" : \"=f\"(f) : \"h\"(h)); return f; }}\n"
        ),
        "sl_f2h" => format!(
            "{F} unsigned short sl_f2h(float f) {{ unsigned short h; asm(\"cvt.rn.f16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(f)); return h; }}\n"
        ),
        "sl_d2h" => format!(
            "{F} unsigned short sl_d2h(double x) {{ unsigned short h; asm(\"cvt.rn.f16.f64 %0, %1;\" : \"=h\"(h) : \"d\"(x)); return h; }}\n"
        ),
        "sl_bf2f" => format!("{F} float sl_bf2f(unsigned short h) {{ return __uint_as_float(((unsigned int)h) << 16); }}\n"),
        "sl_f2bf" => format!(
            "{F} unsigned short sl_f2bf(float f) {{ unsigned short h; asm(\"cvt.rn.bf16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(f)); return h; }}\n"
        ),
        "sl_d2bf" => {
            return (
                d(&["sl_f2bf"]),
                format!(
                    "// f64 -> bf16 with one rounding: round to odd at f32 precision first, then to nearest even.
{F} unsigned short sl_d2bf(double x) {{
    float f;
    asm(\"cvt.rz.f32.f64 %0, %1;\" : \"=f\"(f) : \"d\"(x));
    if ((double)f != x && x == x) f = __uint_as_float(__float_as_uint(f) | 1u);
    return sl_f2bf(f);
}}
"
                ),
            )
        }
        "sl_rh" => {
            return (
                d(&["sl_h2f", "sl_f2h"]),
                format!("{F} float sl_rh(float x) {{ return sl_h2f(sl_f2h(x)); }}\n"),
            )
        }
        "sl_rhd" => {
            return (
                d(&["sl_h2f", "sl_d2h"]),
                format!("{F} float sl_rhd(double x) {{ return sl_h2f(sl_d2h(x)); }}\n"),
            )
        }
        "sl_rbf" => {
            return (
                d(&["sl_bf2f", "sl_f2bf"]),
                format!("{F} float sl_rbf(float x) {{ return sl_bf2f(sl_f2bf(x)); }}\n"),
            )
        }
        "sl_rbfd" => {
            return (
                d(&["sl_bf2f", "sl_d2bf"]),
                format!("{F} float sl_rbfd(double x) {{ return sl_bf2f(sl_d2bf(x)); }}\n"),
            )
        }
        _ => return generate_typed(name),
    };
    (Vec::new(), src)
}

/// Helpers with a dtype suffix: `sl_<kind>_<dtype>`.
fn generate_typed(name: &str) -> (Vec<String>, String) {
    let (kind, suffix) = name
        .strip_prefix("sl_")
        .and_then(|s| s.rsplit_once('_'))
        .unwrap_or_else(|| panic!("unknown CUDA helper {name}"));
    let dt = DType::from_name(suffix).unwrap_or_else(|| panic!("unknown CUDA helper {name}"));
    if dt.is_float() {
        float_helper(kind, dt)
    } else {
        int_helper(kind, dt)
    }
}

/// Float helpers; `dt` is F32 (the compute type of f32/f16/bf16) or F64.
fn float_helper(kind: &str, dt: DType) -> (Vec<String>, String) {
    let single = dt != DType::F64;
    let (t, m, sfx) = if single {
        ("float", "f", "f32")
    } else {
        ("double", "", "f64")
    };
    let l = |v: f64| float_lit(single, v);
    let (zero, one) = (l(0.0), l(1.0));
    let isnan = if single {
        "((__float_as_uint(x) & 0x7fffffffu) > 0x7f800000u)"
    } else {
        "(((unsigned long long)__double_as_longlong(x) & 0x7fffffffffffffffULL) > 0x7ff0000000000000ULL)"
    };
    let src = match kind {
        "sigmoid" => format!(
            "{F} {t} sl_sigmoid_{sfx}({t} x) {{
    if (x >= {zero}) return {one} / ({one} + exp{m}(-x));
    const {t} e = exp{m}(x);
    return e / ({one} + e);
}}
"
        ),
        "softplus" => format!(
            "{F} {t} sl_softplus_{sfx}({t} x) {{
    if (x > {zero}) return x + log1p{m}(exp{m}(-x));
    return log1p{m}(exp{m}(x));
}}
"
        ),
        // Keeps NaN, as the CPU's comparisons do.
        "clamp01" => {
            format!("{F} {t} sl_clamp01_{sfx}({t} x) {{ return x < {zero} ? {zero} : (x > {one} ? {one} : x); }}\n")
        }
        // Python-style remainder: takes the divisor's sign.
        "mod" => format!(
            "{F} {t} sl_mod_{sfx}({t} x, {t} y) {{
    const {t} r = fmod{m}(x, y);
    return (r != {zero} && ((r < {zero}) != (y < {zero}))) ? r + y : r;
}}
"
        ),
        // NaN in the first operand propagates (numpy maximum/minimum as the CPU kernel).
        "max" => format!("{F} {t} sl_max_{sfx}({t} x, {t} y) {{ return ({isnan} || x >= y) ? x : y; }}\n"),
        "min" => format!("{F} {t} sl_min_{sfx}({t} x, {t} y) {{ return ({isnan} || x <= y) ? x : y; }}\n"),
        _ => panic!("unknown CUDA helper sl_{kind}_{sfx}"),
    };
    (Vec::new(), src)
}

/// Integer helpers for integer dtype `dt`.
fn int_helper(kind: &str, dt: DType) -> (Vec<String>, String) {
    let t = ctype(dt);
    let u = utype(dt);
    let sfx = dt.name();
    let signed = dt.is_signed_int();
    let wide = dt.size() >= 4;
    let (lo, hi) = int_range(dt);
    let src = match kind {
        // Truncating division, 0 on division by zero, MIN / -1 wraps to MIN.
        "div" if signed && wide => format!(
            "{F} {t} sl_div_{sfx}({t} x, {t} y) {{
    if (y == 0) return 0;
    if (y == -1) return ({t})(({u})0 - ({u})x);
    return x / y;
}}
"
        ),
        "div" => format!("{F} {t} sl_div_{sfx}({t} x, {t} y) {{ return y == 0 ? ({t})0 : ({t})(x / y); }}\n"),
        // Remainder with the dividend's sign, 0 on division by zero (and for MIN % -1).
        "rem" if signed && wide => {
            format!("{F} {t} sl_rem_{sfx}({t} x, {t} y) {{ return (y == 0 || y == -1) ? ({t})0 : ({t})(x % y); }}\n")
        }
        "rem" => format!("{F} {t} sl_rem_{sfx}({t} x, {t} y) {{ return y == 0 ? ({t})0 : ({t})(x % y); }}\n"),
        // Python-style remainder (signed only: unsigned is `rem`), wrapping add of the divisor.
        "mod" => {
            return (
                vec![format!("sl_rem_{sfx}")],
                format!(
                    "{F} {t} sl_mod_{sfx}({t} x, {t} y) {{
    const {t} r = sl_rem_{sfx}(x, y);
    return (r != 0 && ((r < 0) != (y < 0))) ? ({t})(({u})r + ({u})y) : r;
}}
"
                ),
            )
        }
        // Rust `as` from f64: truncate toward zero, saturate, NaN -> 0.
        "f2i" => {
            let (flo, fhi) = (lo as f64, hi as f64 + 1.0);
            format!(
                "{F} {t} sl_f2i_{sfx}(double x) {{
    if (x != x) return 0;
    if (x <= {}) return {};
    if (x >= {}) return {};
    return ({t})x;
}}
",
                float_lit(false, flo),
                int_lit(dt, lo),
                float_lit(false, fhi),
                int_lit(dt, hi)
            )
        }
        // Wrapping power by squaring; negative exponents go through f64 and truncate (so
        // 0^-k saturates to the maximum, as the CPU kernel does).
        "ipow" => {
            return (
                vec![format!("sl_f2i_{sfx}")],
                format!(
                    "{F} {t} sl_ipow_{sfx}({t} x, long long e) {{
    if (e < 0) return sl_f2i_{sfx}(trunc(pow((double)x, (double)e)));
    {u} r = 1, b = ({u})x;
    while (e > 0) {{
        if (e & 1) r *= b;
        b *= b;
        e >>= 1;
    }}
    return ({t})r;
}}
"
                ),
            )
        }
        _ => panic!("unknown CUDA helper sl_{kind}_{sfx}"),
    };
    (Vec::new(), src)
}

/// The literal a Clip attribute bound becomes in dtype `dt` (the CPU casts it from f32).
pub(super) fn attr_lit(dt: DType, v: f32) -> String {
    match dt {
        DType::F32 => float_lit(true, v as f64),
        DType::F64 => float_lit(false, v as f64),
        DType::F16 => float_lit(true, half::f16::from_f32(v).to_f64()),
        DType::BF16 => float_lit(true, half::bf16::from_f32(v).to_f64()),
        _ => {
            let (lo, hi) = int_range(dt);
            let t = v.trunc();
            let i = if t.is_nan() {
                0
            } else {
                (t as f64).clamp(lo as f64, hi as f64) as i128
            };
            int_lit(dt, i.clamp(lo, hi))
        }
    }
}

/// Load expression for input `k` of dtype `dt` at offset `o`.
pub(super) fn load(h: &mut Helpers, dt: DType, k: usize, o: &str) -> String {
    match dt {
        DType::F16 => format!("{}(in{k}[{o}])", h.need("sl_h2f")),
        DType::BF16 => format!("{}(in{k}[{o}])", h.need("sl_bf2f")),
        DType::Bool => format!("(in{k}[{o}] != 0)"),
        _ => format!("in{k}[{o}]"),
    }
}

/// Store expression for a register of dtype `dt`.
pub(super) fn store(h: &mut Helpers, dt: DType, r: &str) -> String {
    match dt {
        DType::F16 => format!("{}({r})", h.need("sl_f2h")),
        DType::BF16 => format!("{}({r})", h.need("sl_f2bf")),
        DType::Bool => format!("(unsigned char)({r} ? 1 : 0)"),
        _ => r.to_string(),
    }
}

/// The whole source: params struct, helpers, the per-element function holding `body` (which
/// reads `in<k>[o<k>]` and writes `out<j>[i]`), and the grid-stride entry point `suanli_ew`
/// taking `ptrs` (the pointer parameters, inputs then outputs).
pub(super) fn kernel_source(
    title: &str,
    nin: usize,
    nout: usize,
    ptrs: &[String],
    helpers: &str,
    body: &str,
) -> String {
    let rank = super::cuda::MAX_RANK;
    let ptrs = ptrs.join(", ");
    let names: Vec<String> = (0..nin)
        .map(|k| format!("in{k}"))
        .chain((0..nout).map(|j| format!("out{j}")))
        .collect();
    let names = names.join(", ");
    let offs: String = (0..nin).map(|k| format!(", long long o{k}")).collect();
    let mut s = format!(
        "// {title}, CUDA C for NVRTC.
struct SuanliEwParams {{
    long long n;
    long long rank;
    long long strided;
    long long dims[{rank}];
    long long strides[{}][{rank}];
}};

{helpers}
static __device__ __forceinline__ void suanli_ew_point(long long i{offs}, {ptrs}) {{
{body}}}

extern \"C\" __global__ void suanli_ew(const SuanliEwParams p, {ptrs}) {{
    const long long step = (long long)gridDim.x * blockDim.x;
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
",
        nin.max(1)
    );
    if nin == 0 {
        let _ = writeln!(s, "    for (; i < p.n; i += step) suanli_ew_point(i, {names});\n}}");
        return s;
    }
    let same: String = (0..nin).map(|_| ", i").collect();
    let _ = writeln!(
        s,
        "    if (p.strided == 0) {{
        for (; i < p.n; i += step) suanli_ew_point(i{same}, {names});
        return;
    }}"
    );
    // Strided inputs: split the index over the output dims, in 32 bits while the count
    // allows (64-bit division is several times slower); offsets accumulate in 64 bits.
    let zeros: Vec<String> = (0..nin).map(|k| format!("a{k} = 0")).collect();
    let zeros = zeros.join(", ");
    let sel: String = (0..nin)
        .map(|k| format!(", (p.strided & (1LL << {k})) ? a{k} : i"))
        .collect();
    for narrow in [true, false] {
        let (it, init, dim, wide, pad) = if narrow {
            (
                "unsigned int",
                "(unsigned int)i",
                "(unsigned int)p.dims[d]",
                "(long long)",
                "    ",
            )
        } else {
            ("long long", "i", "p.dims[d]", "", "")
        };
        let mut l = String::new();
        // At d == 0 the remainder is already below the outermost dim: no division there.
        let _ = writeln!(
            l,
            "for (; i < p.n; i += step) {{
    {it} rem = {init};
    long long {zeros};
#pragma unroll
    for (int d = {}; d >= 0; --d) {{
        if (d < p.rank) {{
            const {it} dim = {dim};
            const {it} c = d == 0 ? rem : rem % dim;
            rem /= dim;",
            rank - 1
        );
        for k in 0..nin {
            let _ = writeln!(l, "            a{k} += {wide}c * p.strides[{k}][d];");
        }
        let _ = writeln!(l, "        }}\n    }}\n    suanli_ew_point(i{sel}, {names});\n}}");
        if narrow {
            s.push_str("    if (p.n <= 0xffffffffLL) {\n");
        }
        for line in l.lines() {
            if line.starts_with('#') {
                let _ = writeln!(s, "{line}");
            } else {
                let _ = writeln!(s, "    {pad}{line}");
            }
        }
        if narrow {
            s.push_str("        return;\n    }\n");
        }
    }
    s.push_str("}\n");
    s
}
