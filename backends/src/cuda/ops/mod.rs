//! Lowering of kernel specs to CUDA, one file per op family.
//!
//! A family's `lower` answers, from a spec alone, the [`CudaOp`] that runs it or why it cannot
//! (that answer is `supports`). A `CudaOp` names its CUDA C sources (compiled once with NVRTC,
//! at `compile`) and at each launch records outputs and steps into a [`LaunchCx`]: kernel
//! launches, cuBLAS GEMMs and copies. It never calls the driver, so every family is plain data
//! plus CUDA C text and is checked without a GPU (NVRTC compiles every source; the recorded
//! arguments are checked against each kernel's signature).

pub mod conv;
pub mod elementwise;
pub mod image;
pub mod layout;
pub mod linalg;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod signature;
#[cfg(test)]
mod testkit;

use super::launch::LaunchCx;
use crate::device::Result;
use suanli_kernels::ops::FusedOp;
use suanli_kernels::{DType, KernelSpec, Op};

/// What the lowering may assume about the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Compute capability (major, minor).
    pub sm: (u32, u32),
    /// Dynamic shared memory one block may use, in bytes.
    pub max_shared_bytes: u32,
}

impl Target {
    /// The oldest GPU the sources are written for (Ampere, sm_80).
    pub const SM80: Target = Target {
        sm: (8, 0),
        max_shared_bytes: 48 * 1024,
    };
    /// Hopper (sm_90).
    pub const SM90: Target = Target {
        sm: (9, 0),
        max_shared_bytes: 48 * 1024,
    };

    /// The NVRTC architecture option for this target, e.g. `compute_90`.
    pub fn arch(&self) -> String {
        format!("compute_{}{}", self.sm.0, self.sm.1)
    }
}

/// One CUDA C translation unit with one `extern "C" __global__` entry point.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CudaSource {
    /// A short name for errors and profiles.
    pub name: String,
    /// The complete source (no `#include`: NVRTC runs without include paths).
    pub source: String,
    /// The entry point's name.
    pub entry: String,
}

/// A lowered kernel: its sources and how to launch them on concrete shapes.
pub trait CudaOp: Send + Sync {
    /// Required. The sources this op launches; [`LaunchCx::kernel`] refers to them by index.
    fn sources(&self) -> Vec<CudaSource>;
    /// Required. Record outputs and steps for the inputs in `cx`.
    fn launch(&self, cx: &mut LaunchCx) -> Result<()>;
}

/// Lower `spec` for `target`, or say why this device cannot run it.
pub fn lower(spec: &KernelSpec, target: &Target) -> Result<Box<dyn CudaOp>, String> {
    for t in spec.inputs.iter().flatten().chain(spec.outputs.iter()) {
        storage_type(t.dtype)?;
    }
    let _ = target;
    match &spec.op {
        Op::Elementwise(op) => elementwise::lower(op, spec),
        Op::Fused(FusedOp::Elementwise(prog)) => elementwise::lower_program(prog, spec),
        Op::Linalg(op) => linalg::lower(op, spec),
        Op::Reduce(op) => reduce::lower(op, spec),
        Op::Norm(op) => norm::lower(op, spec),
        Op::Fused(op @ (FusedOp::MatMul { .. } | FusedOp::Gemm { .. })) => linalg::lower_fused(op, spec),
        Op::Layout(op) => layout::lower(op, spec),
        Op::Pool(op) => pool::lower(op, spec),
        Op::Conv(op) => conv::lower(op, spec),
        Op::Fused(op @ FusedOp::Conv { .. }) => conv::lower_fused(op, spec),
        Op::Image(op) => image::lower(op, spec),
        other => Err(format!("no CUDA kernel for {} yet", other.name())),
    }
}

/// The CUDA C type a dtype is stored as (f16 and bf16 as their 16 bits).
pub fn storage_type(dt: DType) -> Result<&'static str, String> {
    Ok(match dt {
        DType::F32 => "float",
        DType::F64 => "double",
        DType::F16 | DType::BF16 | DType::U16 => "unsigned short",
        DType::I8 => "signed char",
        DType::U8 | DType::Bool => "unsigned char",
        DType::I16 => "short",
        DType::I32 => "int",
        DType::U32 => "unsigned int",
        DType::I64 => "long long",
        DType::U64 => "unsigned long long",
        DType::Str => return Err("strings are not stored on the CUDA device".into()),
    })
}

/// The type a value of `dt` is computed in by the hand-written kernels.
pub fn compute_type(dt: DType) -> Result<&'static str, String> {
    Ok(match dt {
        DType::F16 | DType::BF16 => "float",
        d => storage_type(d)?,
    })
}

/// Type aliases for hand-written kernels: for `("T", dt)` it declares `T` (storage), `T_acc`
/// (compute type), `T_ld(T) -> T_acc`, `T_st(T_acc) -> T`, and `T_lowest()` / `T_highest()`
/// (the identities of max and min: ±infinity for floats, the extremes for integers).
pub fn prelude(aliases: &[(&str, DType)]) -> Result<String, String> {
    let mut s = String::from(PRELUDE_COMMON);
    for (name, dt) in aliases {
        let st = storage_type(*dt)?;
        let ct = compute_type(*dt)?;
        let (ld, stx) = match dt {
            DType::F16 => ("suanli_f16_to_f32(x)", "suanli_f32_to_f16(x)"),
            DType::BF16 => ("suanli_bf16_to_f32(x)", "suanli_f32_to_bf16(x)"),
            _ => ("x", "x"),
        };
        let (lo, hi) = match dt {
            DType::F16 | DType::BF16 | DType::F32 => ("-__int_as_float(0x7f800000)", "__int_as_float(0x7f800000)"),
            DType::F64 => (
                "-__longlong_as_double(0x7ff0000000000000LL)",
                "__longlong_as_double(0x7ff0000000000000LL)",
            ),
            DType::I8 => ("-128", "127"),
            DType::U8 | DType::Bool => ("0", "255"),
            DType::I16 => ("-32768", "32767"),
            DType::U16 => ("0", "65535"),
            DType::I32 => ("(-2147483647 - 1)", "2147483647"),
            DType::U32 => ("0u", "4294967295u"),
            DType::I64 => ("(-9223372036854775807LL - 1)", "9223372036854775807LL"),
            DType::U64 => ("0ull", "18446744073709551615ull"),
            DType::Str => return Err("strings are not stored on the CUDA device".into()),
        };
        s.push_str(&format!(
            "typedef {st} {name};\ntypedef {ct} {name}_acc;\n\
             __device__ __forceinline__ {name}_acc {name}_ld({name} x) {{ return {ld}; }}\n\
             __device__ __forceinline__ {name} {name}_st({name}_acc x) {{ return ({name})({stx}); }}\n\
             __device__ __forceinline__ {name}_acc {name}_lowest() {{ return ({name}_acc)({lo}); }}\n\
             __device__ __forceinline__ {name}_acc {name}_highest() {{ return ({name}_acc)({hi}); }}\n"
        ));
    }
    Ok(s)
}

/// Conversions shared by every hand-written source (f16/bf16 through PTX `cvt`).
const PRELUDE_COMMON: &str = r#"__device__ __forceinline__ float suanli_f16_to_f32(unsigned short h) {
    float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f;
}
__device__ __forceinline__ unsigned short suanli_f32_to_f16(float f) {
    unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h;
}
__device__ __forceinline__ float suanli_bf16_to_f32(unsigned short h) {
    return __int_as_float(((unsigned int)h) << 16);
}
__device__ __forceinline__ unsigned short suanli_f32_to_bf16(float f) {
    unsigned short h; asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h;
}
"#;

/// A source from a hand-written file in `shaders/` (entry point `entry`) and its type aliases.
pub fn source(name: &str, entry: &str, aliases: &[(&str, DType)], body: &str) -> Result<CudaSource, String> {
    Ok(CudaSource {
        name: name.into(),
        source: format!("{}{}", prelude(aliases)?, body),
        entry: entry.into(),
    })
}
