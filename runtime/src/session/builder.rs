//! [`SessionBuilder`]: the devices, placement policy, threads and graph passes of a session,
//! and the build itself (open the devices, optimise the graph, plan static inputs at once).

use super::Session;
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::onnx;
use crate::passes;
use crate::placement::Policy;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use suanli_backends::{Device, OpenOptions};

/// Configures and builds a [`Session`].
#[derive(Clone, Default)]
pub struct SessionBuilder {
    device_spec: Option<String>,
    custom: Vec<Arc<dyn Device>>,
    policy: Policy,
    optimize: bool,
    /// How devices are opened (CPU threads, spinning).
    open: OpenOptions,
}

/// Resolve a device string (`cpu`, `wgpu`, `cuda:0`, `auto`, `wgpu,cpu`) to device names.
pub fn resolve_device_names(spec: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "auto" {
            let avail = suanli_backends::enumerate();
            for kind in ["cuda", "wgpu", "cpu"] {
                for e in avail.iter().filter(|e| e.available && e.kind == kind) {
                    names.push(e.name.clone());
                }
            }
        } else {
            names.push(part.to_string());
        }
    }
    if names.is_empty() {
        return Err(Error::Usage(format!("no device in {spec:?}")));
    }
    names.dedup();
    Ok(names)
}

impl SessionBuilder {
    /// A builder for the CPU device, allow policy, all cores.
    pub fn new() -> SessionBuilder {
        SessionBuilder {
            optimize: true,
            ..Default::default()
        }
    }

    /// Devices by name, preferred first: `cpu`, `wgpu`, `wgpu:N`, `cuda:N`, `auto`, or a comma
    /// list. The CPU is always added last as the fallback.
    pub fn devices(mut self, spec: &str) -> SessionBuilder {
        self.device_spec = Some(spec.to_string());
        self
    }

    /// Use an already-opened device (e.g. a third-party port), preferred in the order added.
    pub fn device(mut self, d: Arc<dyn Device>) -> SessionBuilder {
        self.custom.push(d);
        self
    }

    /// What to do with nodes the preferred device cannot run.
    pub fn policy(mut self, p: Policy) -> SessionBuilder {
        self.policy = p;
        self
    }

    /// Threads the CPU device runs each kernel on (`intra_threads` in ONNX Runtime's terms;
    /// 0 = one per core). The same setting as [`SessionBuilder::threads`].
    pub fn intra_threads(self, n: usize) -> SessionBuilder {
        self.threads(n)
    }

    /// CPU worker threads (0 = all cores).
    pub fn threads(mut self, n: usize) -> SessionBuilder {
        self.open.threads = n;
        self
    }

    /// Whether idle CPU workers spin for work during a run (on by default, as in ONNX Runtime).
    /// Spinning saves the wake-up of a sleeping worker at every parallel kernel (3–10% of a
    /// small model's run at 2 threads) and costs the idle cores' time while a run lasts; turn
    /// it off when other work shares the cores. A worker that finds no work for a millisecond
    /// stops spinning.
    pub fn allow_spinning(mut self, on: bool) -> SessionBuilder {
        self.open.spin = on;
        self
    }

    /// Turn graph optimisation (constant folding, dead-code elimination) on or off.
    pub fn optimize(mut self, on: bool) -> SessionBuilder {
        self.optimize = on;
        self
    }

    /// Load an ONNX file and build.
    pub fn build_from_file(self, path: impl AsRef<Path>) -> Result<Session> {
        let model = onnx::load_file(path.as_ref())?;
        self.build_from_graph(model.graph)
    }

    /// Load ONNX bytes and build.
    pub fn build_from_bytes(self, bytes: &[u8]) -> Result<Session> {
        let model = onnx::load_bytes(bytes, None)?;
        self.build_from_graph(model.graph)
    }

    /// Build from a graph (e.g. made with [`crate::graph::builder::GraphBuilder`]).
    pub fn build_from_graph(self, mut graph: Graph) -> Result<Session> {
        let opts = self.open.clone();
        let mut devices: Vec<Arc<dyn Device>> = self.custom.clone();
        if devices.is_empty() || self.device_spec.is_some() {
            let spec = self.device_spec.clone().unwrap_or_else(|| "cpu".into());
            for name in resolve_device_names(&spec)? {
                let d = suanli_backends::open(&name, &opts).map_err(|e| Error::Device {
                    device: name.clone(),
                    source: e,
                })?;
                devices.push(d);
            }
        }
        let cpu = match devices.iter().position(|d| d.info().kind == "cpu") {
            Some(i) => i,
            None => {
                devices.push(suanli_backends::open("cpu", &opts).map_err(|e| Error::Device {
                    device: "cpu".into(),
                    source: e,
                })?);
                devices.len() - 1
            }
        };
        if self.optimize {
            let accept = |spec: &suanli_kernels::KernelSpec| devices.iter().all(|d| d.supports(spec).is_native());
            passes::optimize(&mut graph, &accept)?;
        }
        let session = Session {
            graph: Arc::new(graph),
            devices,
            cpu,
            policy: self.policy,
            plans: Mutex::new(HashMap::new()),
            consts: Mutex::new(HashMap::new()),
            states: Mutex::new(Vec::new()),
        };
        // With fully static input shapes, plan (and so pack weights) now rather than in the
        // first run. A failure here recurs, with the same error, when the model is run.
        let static_inputs = session.graph.inputs.iter().all(|v| {
            session.graph.values[v.0]
                .ty
                .tensor()
                .is_some_and(|t| t.concrete().is_some())
        });
        if static_inputs {
            let _ = session.default_plan();
        }
        Ok(session)
    }
}
