//! Device enumeration and opening by name.

use crate::cpu::CpuDevice;
use crate::device::{Device, DeviceError, DeviceInfo, Result};
use std::sync::Arc;

/// One device kind as seen on this machine.
#[derive(Clone, Debug)]
pub struct DeviceEntry {
    /// Name accepted by `--device`.
    pub name: String,
    /// Kind (`cpu`, `wgpu`, `cuda`, `ascend`, `mlu`).
    pub kind: String,
    /// Whether it can be opened.
    pub available: bool,
    /// Why not, when absent; a short description otherwise.
    pub reason: String,
    /// Details when available.
    pub info: Option<DeviceInfo>,
}

/// Every device kind suanli knows, with its state on this machine. Never panics.
pub fn enumerate() -> Vec<DeviceEntry> {
    let mut out = Vec::new();
    match CpuDevice::new(0) {
        Ok(cpu) => out.push(DeviceEntry {
            name: "cpu".into(),
            kind: "cpu".into(),
            available: true,
            reason: cpu.info().description.clone(),
            info: Some(cpu.info().clone()),
        }),
        Err(e) => out.push(absent("cpu", "cpu", &e.to_string())),
    }
    wgpu_entries(&mut out);
    cuda_entries(&mut out);
    out.push(absent("ascend:0", "ascend", "no Ascend NPU port in this build"));
    out.push(absent("mlu:0", "mlu", "no Cambricon MLU port in this build"));
    out
}

#[cfg(feature = "wgpu")]
fn wgpu_entries(out: &mut Vec<DeviceEntry>) {
    match crate::wgpu::enumerate_adapters() {
        Ok(list) => {
            for (i, a) in list.iter().enumerate() {
                let name = if i == 0 {
                    "wgpu".to_string()
                } else {
                    format!("wgpu:{i}")
                };
                // Opening gives the limits and features; a failure is the reason it is absent.
                match shared_wgpu(i) {
                    Ok(d) => out.push(DeviceEntry {
                        name,
                        kind: "wgpu".into(),
                        available: true,
                        reason: d.info().description.clone(),
                        info: Some(d.info().clone()),
                    }),
                    Err(e) => out.push(absent(&name, "wgpu", &format!("{} ({}): {e}", a.name, a.backend))),
                }
            }
        }
        Err(reason) => out.push(absent("wgpu", "wgpu", &reason)),
    }
}

/// wgpu adapters are opened once per process and shared by every session (opening a device is
/// slow, and sessions on one GPU share its buffer pool and compiled pipelines).
#[cfg(feature = "wgpu")]
fn shared_wgpu(index: usize) -> Result<Arc<dyn Device>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static OPEN: OnceLock<Mutex<HashMap<usize, Arc<crate::wgpu::WgpuDevice>>>> = OnceLock::new();
    let map = OPEN.get_or_init(Default::default);
    let mut map = map
        .lock()
        .map_err(|_| DeviceError::Driver("wgpu device table poisoned by an earlier panic".into()))?;
    if let Some(d) = map.get(&index) {
        return Ok(d.clone());
    }
    let d = Arc::new(crate::wgpu::WgpuDevice::open(index)?);
    map.insert(index, d.clone());
    Ok(d)
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_entries(out: &mut Vec<DeviceEntry>) {
    out.push(absent(
        "wgpu",
        "wgpu",
        "this build has no wgpu backend (built without the `wgpu` cargo feature)",
    ));
}

#[cfg(feature = "cuda")]
fn cuda_entries(out: &mut Vec<DeviceEntry>) {
    match crate::cuda::device_count() {
        Ok(0) => out.push(absent("cuda:0", "cuda", "the CUDA driver reports no devices")),
        Ok(n) => {
            for i in 0..n {
                let name = format!("cuda:{i}");
                match shared_cuda(i) {
                    Ok(d) => out.push(DeviceEntry {
                        name,
                        kind: "cuda".into(),
                        available: true,
                        reason: d.info().description.clone(),
                        info: Some(d.info().clone()),
                    }),
                    Err(e) => out.push(absent(&name, "cuda", &e.to_string())),
                }
            }
        }
        Err(reason) => out.push(absent("cuda:0", "cuda", &reason)),
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda_entries(out: &mut Vec<DeviceEntry>) {
    out.push(absent(
        "cuda:0",
        "cuda",
        "this build has no CUDA backend (built without the `cuda` cargo feature)",
    ));
}

/// CUDA devices are opened once per process and shared by every session (a context is
/// expensive, and sessions share its memory pool and loaded kernels).
#[cfg(feature = "cuda")]
fn shared_cuda(index: usize) -> Result<Arc<dyn Device>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static OPEN: OnceLock<Mutex<HashMap<usize, Arc<crate::cuda::CudaDevice>>>> = OnceLock::new();
    let map = OPEN.get_or_init(Default::default);
    let mut map = map
        .lock()
        .map_err(|_| DeviceError::Driver("CUDA device table poisoned by an earlier panic".into()))?;
    if let Some(d) = map.get(&index) {
        return Ok(d.clone());
    }
    let d = Arc::new(crate::cuda::CudaDevice::open(index)?);
    map.insert(index, d.clone());
    Ok(d)
}

fn absent(name: &str, kind: &str, reason: &str) -> DeviceEntry {
    DeviceEntry {
        name: name.into(),
        kind: kind.into(),
        available: false,
        reason: reason.into(),
        info: None,
    }
}

/// Options for opening devices.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// CPU worker threads (0 = all cores).
    pub threads: usize,
    /// Let idle CPU workers spin for work during a run instead of sleeping between kernels
    /// (`allow_spinning` in ONNX Runtime's terms; on by default). See [`CpuDevice::with_spinning`].
    pub spin: bool,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions { threads: 0, spin: true }
    }
}

/// Open one device by name (`cpu`, `wgpu`, `wgpu:N`, `cuda:N`). `auto` is resolved by the caller.
pub fn open(name: &str, opts: &OpenOptions) -> Result<Arc<dyn Device>> {
    let name = name.trim();
    let kind = name.split(':').next().unwrap_or(name);
    match kind {
        "cpu" => Ok(Arc::new(CpuDevice::new(opts.threads)?.with_spinning(opts.spin))),
        #[cfg(feature = "wgpu")]
        "wgpu" => {
            let index = match name.split_once(':') {
                None => 0,
                Some((_, n)) => n.parse().map_err(|_| DeviceError::UnknownDevice(name.to_string()))?,
            };
            shared_wgpu(index)
        }
        #[cfg(not(feature = "wgpu"))]
        "wgpu" => Err(DeviceError::Absent {
            device: name.to_string(),
            reason: "this build has no wgpu backend (built without the `wgpu` cargo feature)".into(),
        }),
        #[cfg(feature = "cuda")]
        "cuda" => {
            let index = match name.split_once(':') {
                None => 0,
                Some((_, n)) => n.parse().map_err(|_| DeviceError::UnknownDevice(name.to_string()))?,
            };
            shared_cuda(index)
        }
        #[cfg(not(feature = "cuda"))]
        "cuda" => Err(DeviceError::Absent {
            device: name.to_string(),
            reason: "this build has no CUDA backend (built without the `cuda` cargo feature)".into(),
        }),
        "ascend" | "mlu" => {
            let reason = enumerate()
                .into_iter()
                .find(|e| e.kind == kind)
                .map(|e| e.reason)
                .unwrap_or_else(|| "not built".into());
            Err(DeviceError::Absent {
                device: name.to_string(),
                reason,
            })
        }
        _ => Err(DeviceError::UnknownDevice(name.to_string())),
    }
}
