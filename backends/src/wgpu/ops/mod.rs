//! Lowering of kernel specs to WGSL programs, one file per op family.
//!
//! A family's `lower` function answers, from a spec alone, either the [`WgslOp`] that runs it
//! or why it cannot (that answer is `supports`). A `WgslOp` names its shaders (compiled once,
//! at `compile`) and, at each launch, allocates outputs and records dispatches through
//! [`LaunchCx`] — it never touches wgpu itself, so every family is plain data + WGSL text.

pub mod conv;
pub mod elementwise;
pub mod image;
pub mod layout;
pub mod linalg;
pub mod norm;
pub mod pool;
pub mod reduce;

use super::launch::LaunchCx;
use super::memory::{unsupported_dtype, Caps, Repr};
use crate::device::Result;
use suanli_kernels::{DType, KernelSpec, Op};

/// What the lowering may assume about the adapter.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Optional dtype features.
    pub caps: Caps,
    /// Storage buffers one shader stage may bind (params buffer included).
    pub max_storage_buffers: u32,
    /// Largest storage-buffer binding in bytes.
    pub max_binding_bytes: u64,
}

impl Target {
    /// A target with every optional feature and generous limits: what the validation test
    /// uses to render every shader without an adapter.
    pub const ANY: Target = Target {
        caps: Caps::ALL,
        max_storage_buffers: 8,
        max_binding_bytes: 128 << 20,
    };

    /// The device representation of `dt`, or the reason it has none.
    pub fn repr(&self, dt: DType) -> Result<Repr, String> {
        Repr::of(dt, self.caps).ok_or_else(|| unsupported_dtype(dt, self.caps).unwrap_or_default())
    }
}

/// One compute shader: WGSL text with a `main` entry point.
///
/// Binding 0 is the read-only `array<u32>` of parameters; bindings 1.. are the buffers given to
/// [`LaunchCx::dispatch`], in order. Every binding must be used by `main`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shader {
    /// A short name for errors and profiles.
    pub name: String,
    /// The complete WGSL source.
    pub source: String,
}

/// A lowered kernel: its shaders and how to launch them on concrete shapes.
pub trait WgslOp: Send + Sync {
    /// Required. The shaders this op dispatches; `LaunchCx::dispatch` refers to them by index.
    fn shaders(&self) -> Vec<Shader>;
    /// Required. Allocate outputs and record dispatches for the inputs in `cx`.
    fn launch(&self, cx: &mut LaunchCx) -> Result<()>;
}

/// Lower `spec` for `target`, or say why this device cannot run it.
pub fn lower(spec: &KernelSpec, target: &Target) -> Result<Box<dyn WgslOp>, String> {
    for t in spec.inputs.iter().flatten().chain(spec.outputs.iter()) {
        target.repr(t.dtype)?;
        if let Some(bytes) = t.byte_size() {
            // Widened types take 4 bytes per element on the device.
            let dev_bytes = bytes / t.dtype.size().max(1) * target.repr(t.dtype)?.size();
            if dev_bytes as u64 > target.max_binding_bytes {
                return Err(format!(
                    "a {dev_bytes}-byte operand exceeds the adapter's storage-binding limit of {} bytes",
                    target.max_binding_bytes
                ));
            }
        }
    }
    match &spec.op {
        Op::Elementwise(op) => elementwise::lower(op, spec, target),
        Op::Layout(op) => layout::lower(op, spec, target),
        Op::Reduce(op) => reduce::lower(op, spec, target),
        Op::Norm(op) => norm::lower(op, spec, target),
        Op::Linalg(op) => linalg::lower(op, spec, target),
        Op::Conv(op) => conv::lower(op, spec, target),
        Op::Pool(op) => pool::lower(op, spec, target),
        Op::Image(op) => image::lower(op, spec, target),
        other => Err(format!("no WGSL kernel for {} yet", other.name())),
    }
}

/// The WGSL prelude declaring the type aliases a shader uses, e.g. `[("T", Repr::F16)]` gives
/// `enable f16; alias T = f16;`. Hand-written shaders are written against such aliases.
pub fn prelude(aliases: &[(&str, Repr)]) -> String {
    let mut s = String::new();
    if aliases.iter().any(|(_, r)| *r == Repr::F16) {
        s.push_str("enable f16;\n");
    }
    for (name, r) in aliases {
        s.push_str(&format!("alias {name} = {};\n", r.wgsl()));
    }
    s
}

/// Linear invocation index helpers shared by every 1-D shader: grids are 2-D so that more than
/// 65535 workgroups can be launched (see [`super::launch::grid_1d`]).
pub const INDEX_WGSL: &str = "
const WG: u32 = 256u;
fn linear_id(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * WG + lid.x;
}
";

/// A shader from a hand-written source in `shaders/` and its type aliases.
pub fn shader(name: &str, aliases: &[(&str, Repr)], body: &str) -> Shader {
    Shader {
        name: name.into(),
        source: format!("{}{}{}", prelude(aliases), INDEX_WGSL, body),
    }
}
