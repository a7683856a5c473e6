//! Lowering a graph to an executable plan: kernel specs, placement, copy steps, liveness
//! and memory plan, for one signature of input shapes.

use crate::error::{Error, Result};
use crate::graph::infer::infer_types;
use crate::graph::{Graph, NodeOp, ValueId, ValueType};
use crate::memory_plan::{self, Interval};
use crate::placement::{place_kernel, Policy};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use suanli_backends::{Device, Kernel};
use suanli_kernels::KernelSpec;

/// One step of a plan.
#[derive(Clone)]
pub enum Step {
    /// Launch a compiled kernel for node `node` on device `device`.
    Kernel {
        node: usize,
        device: usize,
        kernel: Arc<dyn Kernel>,
        inputs: Vec<Option<usize>>,
        outputs: Vec<Option<usize>>,
    },
    /// Copy a value between devices.
    Copy {
        value: ValueId,
        from: usize,
        to: usize,
        src: usize,
        dst: usize,
    },
    /// Run a control-flow or sequence node on the host.
    Host {
        node: usize,
        inputs: Vec<Option<usize>>,
        outputs: Vec<Option<usize>>,
    },
}

/// Per-node placement record for reports.
#[derive(Clone, Debug)]
pub struct NodePlacement {
    /// Node name.
    pub node: String,
    /// Op name.
    pub op: String,
    /// Device name.
    pub device: String,
    /// Why.
    pub reason: String,
    /// Estimated FLOPs (0 when unknown).
    pub flops: u64,
    /// Bytes read and written by the kernel (0 when unknown).
    pub bytes: u64,
}

/// Memory figures for one device.
#[derive(Clone, Debug)]
pub struct DeviceMemory {
    /// Device name.
    pub device: String,
    /// Arena size after liveness-based reuse.
    pub peak_bytes: usize,
    /// Sum of all intermediate buffers without reuse.
    pub total_bytes: usize,
    /// Values whose size is only known at run time (not in the arena figure).
    pub dynamic_values: usize,
}

/// An executable plan for one input-shape signature.
pub struct Plan {
    /// Inferred type of every value.
    pub types: Vec<ValueType>,
    /// Steps in execution order.
    pub steps: Vec<Step>,
    /// After step `i`, the slots in `frees[i]` are released (never a constant's or an
    /// output's).
    pub frees: Vec<Vec<usize>>,
    /// Per step, per input of a kernel step: whether the step is the value's last reader and
    /// reads it once, so that the device may take its storage (empty for other steps).
    pub last_read: Vec<Vec<bool>>,
    /// Per slot: whether it holds a constant, bound once and kept from run to run.
    pub is_const: Vec<bool>,
    /// Number of value slots.
    pub num_slots: usize,
    /// Slot of each graph input (on the host device).
    pub input_slots: Vec<usize>,
    /// Constants to bind before running: (value, device, slot).
    pub const_slots: Vec<(ValueId, usize, usize)>,
    /// Slot and device of each graph output.
    pub output_slots: Vec<(usize, usize)>,
    /// Placement of every node.
    pub placements: Vec<NodePlacement>,
    /// Memory per device.
    pub memory: Vec<DeviceMemory>,
    /// Number of copy steps.
    pub copies: Vec<String>,
}

#[derive(Default)]
struct State {
    slots: HashMap<(ValueId, usize), usize>,
    num_slots: usize,
    home: HashMap<ValueId, usize>,
    steps: Vec<Step>,
    copies: Vec<String>,
    const_slots: Vec<(ValueId, usize, usize)>,
}

impl State {
    fn new_slot(&mut self, v: ValueId, d: usize) -> usize {
        let s = self.num_slots;
        self.num_slots += 1;
        self.slots.insert((v, d), s);
        s
    }

    /// Make value `v` available on device `d`, inserting a copy if it lives elsewhere.
    fn fetch(&mut self, g: &Graph, devices: &[Arc<dyn Device>], v: ValueId, d: usize) -> Result<usize> {
        if let Some(&s) = self.slots.get(&(v, d)) {
            return Ok(s);
        }
        if g.constants.contains_key(&v) {
            let s = self.new_slot(v, d);
            self.const_slots.push((v, d, s));
            return Ok(s);
        }
        let from = *self
            .home
            .get(&v)
            .ok_or_else(|| Error::InvalidModel(format!("value {:?} is read before it is written", g.name(v))))?;
        let src = self.slots[&(v, from)];
        let dst = self.new_slot(v, d);
        self.copies.push(format!(
            "{}: {} -> {}",
            g.name(v),
            devices[from].info().name,
            devices[d].info().name
        ));
        self.steps.push(Step::Copy {
            value: v,
            from,
            to: d,
            src,
            dst,
        });
        Ok(dst)
    }
}

/// Build a plan for `g` on `devices` (index 0 preferred; `cpu` is the host device's index).
pub fn build_plan(
    g: &Graph,
    devices: &[Arc<dyn Device>],
    cpu: usize,
    policy: Policy,
    input_types: &[ValueType],
) -> Result<Plan> {
    let types = infer_types(g, input_types)?;
    let mut st = State::default();
    let mut input_slots = Vec::new();
    for &v in &g.inputs {
        input_slots.push(st.new_slot(v, cpu));
        st.home.insert(v, cpu);
    }
    let mut placements = Vec::new();
    let mut denied = Vec::new();

    for (ni, node) in g.nodes.iter().enumerate() {
        let (device, reason, flops, bytes) = match &node.op {
            NodeOp::Kernel(op) => {
                let ins: Option<Vec<Option<suanli_kernels::TensorType>>> = node
                    .inputs
                    .iter()
                    .map(|v| match v {
                        None => Some(None),
                        Some(v) => types[v.0].tensor().cloned().map(Some),
                    })
                    .collect();
                let outs: Option<Vec<suanli_kernels::TensorType>> = node
                    .outputs
                    .iter()
                    .map(|v| v.and_then(|v| types[v.0].tensor().cloned()))
                    .collect();
                let spec = match (ins, outs) {
                    (Some(inputs), Some(outputs)) => Some(KernelSpec {
                        op: op.clone(),
                        inputs,
                        outputs,
                    }),
                    _ => None,
                };
                let (flops, bytes) = spec.as_ref().map(estimate).unwrap_or((0, 0));
                let mut input_homes = vec![0u64; devices.len()];
                for v in node.inputs.iter().flatten() {
                    let b = types[v.0].tensor().and_then(|t| t.byte_size()).unwrap_or(0) as u64;
                    if let Some(&h) = st.home.get(v) {
                        input_homes[h] += b;
                    }
                }
                let dec = place_kernel(devices, spec.as_ref(), flops, bytes, &input_homes, cpu);
                if dec.fallback {
                    match policy {
                        Policy::Deny => denied.push(format!("{} ({}): {}", node.name, op.name(), dec.reason)),
                        Policy::Warn => eprintln!(
                            "warning: node {:?} ({}) falls back: {}",
                            node.name,
                            op.name(),
                            dec.reason
                        ),
                        Policy::Allow => {}
                    }
                }
                let kernel_spec = spec.unwrap_or_else(|| KernelSpec {
                    op: op.clone(),
                    inputs: vec![],
                    outputs: vec![],
                });
                let consts: Vec<Option<&suanli_kernels::Tensor>> = node
                    .inputs
                    .iter()
                    .map(|v| v.and_then(|v| g.constants.get(&v)).map(|t| &**t))
                    .collect();
                let kernel = devices[dec.device]
                    .compile_with(&kernel_spec, &consts)
                    .map_err(|e| Error::Device {
                        device: devices[dec.device].info().name.clone(),
                        source: e,
                    })?;
                let mut ins = Vec::new();
                for v in &node.inputs {
                    ins.push(match v {
                        None => None,
                        Some(v) => Some(st.fetch(g, devices, *v, dec.device)?),
                    });
                }
                let outs = node
                    .outputs
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            st.home.insert(v, dec.device);
                            st.new_slot(v, dec.device)
                        })
                    })
                    .collect();
                st.steps.push(Step::Kernel {
                    node: ni,
                    device: dec.device,
                    kernel,
                    inputs: ins,
                    outputs: outs,
                });
                (dec.device, dec.reason, flops, bytes)
            }
            other => {
                if policy == Policy::Deny && cpu != 0 {
                    denied.push(format!(
                        "{} ({}): control flow and sequences run on the host",
                        node.name,
                        other.name()
                    ));
                }
                let mut ins = Vec::new();
                for v in &node.inputs {
                    ins.push(match v {
                        None => None,
                        Some(v) => Some(st.fetch(g, devices, *v, cpu)?),
                    });
                }
                let outs = node
                    .outputs
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            st.home.insert(v, cpu);
                            st.new_slot(v, cpu)
                        })
                    })
                    .collect();
                st.steps.push(Step::Host {
                    node: ni,
                    inputs: ins,
                    outputs: outs,
                });
                (cpu, "control flow / sequence op: runs on the host".to_string(), 0, 0)
            }
        };
        placements.push(NodePlacement {
            node: node.name.clone(),
            op: node.op.name().to_string(),
            device: devices[device].info().name.clone(),
            reason,
            flops,
            bytes,
        });
    }
    if !denied.is_empty() {
        return Err(Error::PolicyDenied {
            device: devices[0].info().name.clone(),
            count: denied.len(),
            list: denied.join("; "),
        });
    }
    let mut output_slots = Vec::new();
    for &v in &g.outputs {
        let d = st.home.get(&v).copied().unwrap_or(cpu);
        let s = st.fetch(g, devices, v, d)?;
        output_slots.push((s, d));
    }

    let State {
        slots,
        num_slots,
        steps,
        copies,
        const_slots,
        ..
    } = st;
    // Liveness: the last step reading each slot; outputs live to the end.
    let mut last_use: Vec<Option<usize>> = vec![None; num_slots];
    let mut first_def: Vec<Option<usize>> = vec![None; num_slots];
    for (i, st) in steps.iter().enumerate() {
        let (ins, outs): (Vec<usize>, Vec<usize>) = match st {
            Step::Kernel { inputs, outputs, .. } | Step::Host { inputs, outputs, .. } => (
                inputs.iter().flatten().copied().collect(),
                outputs.iter().flatten().copied().collect(),
            ),
            Step::Copy { src, dst, .. } => (vec![*src], vec![*dst]),
        };
        for s in ins {
            last_use[s] = Some(i);
        }
        for s in outs {
            first_def[s] = Some(i);
        }
    }
    let pinned: std::collections::HashSet<usize> = output_slots.iter().map(|o| o.0).collect();
    let mut is_const = vec![false; num_slots];
    for &(_, _, s) in &const_slots {
        is_const[s] = true;
    }
    let mut frees = vec![Vec::new(); steps.len()];
    for s in 0..num_slots {
        if pinned.contains(&s) || is_const[s] {
            continue;
        }
        if let Some(i) = last_use[s] {
            frees[i].push(s);
        }
    }
    let last_read = steps
        .iter()
        .zip(&frees)
        .map(|(st, freed)| match st {
            Step::Kernel { inputs, .. } => inputs
                .iter()
                .map(|s| s.is_some_and(|s| freed.contains(&s) && inputs.iter().filter(|&&t| t == Some(s)).count() == 1))
                .collect(),
            _ => Vec::new(),
        })
        .collect();

    // Memory plan per device over the slots each step writes.
    let mut per_dev: Vec<(Vec<Interval>, usize, usize)> = vec![(Vec::new(), 0, 0); devices.len()];
    for ((v, d), &s) in &slots {
        let Some(start) = first_def[s] else { continue };
        match types[v.0].tensor().and_then(|t| t.byte_size()) {
            Some(bytes) => {
                let end = if pinned.contains(&s) {
                    steps.len()
                } else {
                    last_use[s].unwrap_or(start)
                };
                per_dev[*d].0.push(Interval { bytes, start, end });
            }
            None => per_dev[*d].1 += 1,
        }
    }
    let memory = per_dev
        .into_iter()
        .enumerate()
        .filter(|(_, (iv, dynamic, _))| !iv.is_empty() || *dynamic > 0)
        .map(|(d, (iv, dynamic, _))| {
            let p = memory_plan::plan(&iv);
            DeviceMemory {
                device: devices[d].info().name.clone(),
                peak_bytes: p.peak_bytes,
                total_bytes: p.total_bytes,
                dynamic_values: dynamic,
            }
        })
        .collect();

    Ok(Plan {
        types,
        steps,
        frees,
        last_read,
        is_const,
        num_slots,
        input_slots,
        const_slots,
        output_slots,
        placements,
        memory,
        copies,
    })
}

/// FLOPs and bytes moved by a kernel with concrete shapes (0 when shapes are symbolic).
pub fn estimate(spec: &KernelSpec) -> (u64, u64) {
    let ins: Vec<Option<Vec<usize>>> = spec
        .inputs
        .iter()
        .map(|t| t.as_ref().and_then(|t| t.concrete()))
        .collect();
    let outs: Option<Vec<Vec<usize>>> = spec.outputs.iter().map(|t| t.concrete()).collect();
    let Some(outs) = outs else { return (0, 0) };
    let in_refs: Vec<Option<&[usize]>> = ins.iter().map(|s| s.as_deref()).collect();
    let out_refs: Vec<&[usize]> = outs.iter().map(|s| s.as_slice()).collect();
    let flops = spec.op.imp().flops(&in_refs, &out_refs);
    let bytes: usize = spec
        .inputs
        .iter()
        .flatten()
        .chain(spec.outputs.iter())
        .filter_map(|t| t.byte_size())
        .sum();
    (flops, bytes as u64)
}

impl Plan {
    /// A human-readable report: where every node runs and why, copies, memory.
    pub fn report(&self) -> String {
        let mut s = String::new();
        let total: u64 = self.placements.iter().map(|p| p.flops).sum();
        let mut by_dev: HashMap<&str, (usize, u64)> = HashMap::new();
        for p in &self.placements {
            let e = by_dev.entry(p.device.as_str()).or_default();
            e.0 += 1;
            e.1 += p.flops;
        }
        let _ = writeln!(
            s,
            "placement ({} nodes, {:.3} GFLOP):",
            self.placements.len(),
            total as f64 / 1e9
        );
        let mut devs: Vec<_> = by_dev.into_iter().collect();
        devs.sort();
        for (d, (n, f)) in devs {
            let pct = if total > 0 {
                100.0 * f as f64 / total as f64
            } else {
                0.0
            };
            let _ = writeln!(s, "  {d}: {n} nodes, {pct:.1}% of FLOPs");
        }
        for p in &self.placements {
            let _ = writeln!(s, "  {:<40} {:<20} {:<8} {}", p.node, p.op, p.device, p.reason);
        }
        let _ = writeln!(s, "copies: {}", self.copies.len());
        for c in &self.copies {
            let _ = writeln!(s, "  {c}");
        }
        for m in &self.memory {
            let _ = writeln!(
                s,
                "memory {}: peak {} (without reuse {}), {} dynamically sized values",
                m.device,
                human_bytes(m.peak_bytes),
                human_bytes(m.total_bytes),
                m.dynamic_values
            );
        }
        s
    }

    /// Share of estimated FLOPs placed on each device name.
    pub fn flops_share(&self) -> Vec<(String, f64)> {
        let total: u64 = self.placements.iter().map(|p| p.flops).sum();
        let mut by: HashMap<String, u64> = HashMap::new();
        for p in &self.placements {
            *by.entry(p.device.clone()).or_default() += p.flops;
        }
        let mut v: Vec<_> = by
            .into_iter()
            .map(|(d, f)| (d, if total > 0 { f as f64 / total as f64 } else { 0.0 }))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

/// `1.5 MiB`-style formatting.
pub fn human_bytes(b: usize) -> String {
    let b = b as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b} B")
    }
}
