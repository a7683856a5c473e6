//! Per-op profiles of a session run: time, FLOPs, bytes moved and achieved GFLOP/s of every
//! step, as a share of the device's measured peak.

use crate::error::{Error, Result};
use crate::graph::Value;
use crate::plan::{human_bytes, Step};
use crate::session::Session;
use std::collections::HashMap;
use std::fmt::Write as _;

/// One step of a profiled run (a node, or a copy between devices).
#[derive(Clone, Debug)]
pub struct StepProfile {
    /// Node name (or `copy <value>`).
    pub node: String,
    /// Op name (`Copy` for copies).
    pub op: String,
    /// Device that ran it.
    pub device: String,
    /// Median seconds over the profiled runs.
    pub seconds: f64,
    /// Estimated FLOPs.
    pub flops: u64,
    /// Bytes read and written.
    pub bytes: u64,
}

/// A whole profile: steps sorted by time, and the peaks they are measured against.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Steps, slowest first.
    pub steps: Vec<StepProfile>,
    /// Median of the summed step times of each run, in seconds.
    pub total_seconds: f64,
    /// Measured (or, where not measured, estimated) peak GFLOP/s per device name.
    pub peaks: HashMap<String, (f64, bool)>,
}

/// Profile `iters` runs (after `warmup` unprofiled ones) of `session` on `inputs`.
pub fn profile(session: &Session, inputs: &[(String, Value)], warmup: usize, iters: usize) -> Result<Profile> {
    for _ in 0..warmup {
        session.run_values(inputs.to_vec())?;
    }
    let mut runs: Vec<Vec<f64>> = Vec::new();
    let mut plan = None;
    for _ in 0..iters.max(1) {
        let (_, p, times) = session.run_profiled(inputs.to_vec())?;
        runs.push(times);
        plan = Some(p);
    }
    let plan = plan.ok_or_else(|| Error::Usage("no profiled run".into()))?;
    let g = session.graph();
    let mut steps = Vec::with_capacity(plan.steps.len());
    for (i, step) in plan.steps.iter().enumerate() {
        let seconds = median(runs.iter().filter_map(|r| r.get(i).copied()).collect());
        let entry = match step {
            Step::Kernel { node, .. } | Step::Host { node, .. } => {
                let p = &plan.placements[*node];
                StepProfile {
                    node: g.nodes[*node].name.clone(),
                    op: p.op.clone(),
                    device: p.device.clone(),
                    seconds,
                    flops: p.flops,
                    bytes: p.bytes,
                }
            }
            Step::Copy { value, to, .. } => StepProfile {
                node: format!("copy {}", g.name(*value)),
                op: "Copy".into(),
                device: session.devices()[*to].info().name.clone(),
                seconds,
                flops: 0,
                bytes: plan.types[value.0].tensor().and_then(|t| t.byte_size()).unwrap_or(0) as u64,
            },
        };
        steps.push(entry);
    }
    let total_seconds = median(runs.iter().map(|r| r.iter().sum()).collect());
    steps.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    let peaks = session
        .devices()
        .iter()
        .map(|d| match d.measured_peak_gflops() {
            Some(p) => (d.info().name.clone(), (p, true)),
            None => (d.info().name.clone(), (d.info().peak_gflops, false)),
        })
        .collect();
    Ok(Profile {
        steps,
        total_seconds,
        peaks,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

impl StepProfile {
    /// Achieved GFLOP/s (0 when the step took no measurable time).
    pub fn gflops(&self) -> f64 {
        if self.seconds > 0.0 {
            self.flops as f64 / self.seconds / 1e9
        } else {
            0.0
        }
    }
}

impl Profile {
    /// Time, FLOPs and share of peak summed per op type, slowest first.
    pub fn by_op(&self) -> Vec<StepProfile> {
        let mut by: HashMap<(String, String), (StepProfile, usize)> = HashMap::new();
        for s in &self.steps {
            let (e, count) = by.entry((s.op.clone(), s.device.clone())).or_insert_with(|| {
                let zero = StepProfile {
                    node: String::new(),
                    op: s.op.clone(),
                    device: s.device.clone(),
                    seconds: 0.0,
                    flops: 0,
                    bytes: 0,
                };
                (zero, 0)
            });
            *count += 1;
            e.seconds += s.seconds;
            e.flops += s.flops;
            e.bytes += s.bytes;
        }
        let mut v: Vec<_> = by
            .into_values()
            .map(|(mut e, count)| {
                e.node = format!("{count} steps");
                e
            })
            .collect();
        v.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        v
    }

    fn peak_pct(&self, s: &StepProfile) -> f64 {
        match self.peaks.get(&s.device) {
            Some((p, _)) if *p > 0.0 => 100.0 * s.gflops() / p,
            _ => 0.0,
        }
    }

    fn table(&self, rows: &[StepProfile], out: &mut String) {
        let _ = writeln!(
            out,
            "  {:>9} {:>6} {:>9} {:>10} {:>8} {:>6}  {:<22} {:<6} {}",
            "ms", "%time", "MFLOP", "bytes", "GFLOP/s", "%peak", "op", "device", "node"
        );
        for s in rows {
            let share = if self.total_seconds > 0.0 {
                100.0 * s.seconds / self.total_seconds
            } else {
                0.0
            };
            let _ = writeln!(
                out,
                "  {:>9.3} {:>6.1} {:>9.1} {:>10} {:>8.1} {:>6.1}  {:<22} {:<6} {}",
                s.seconds * 1e3,
                share,
                s.flops as f64 / 1e6,
                human_bytes(s.bytes as usize),
                s.gflops(),
                self.peak_pct(s),
                s.op,
                s.device,
                s.node
            );
        }
    }

    /// The report `suanli bench --profile` prints: per op type, then the `top` slowest steps.
    pub fn report(&self, top: usize) -> String {
        let mut out = String::new();
        let flops: u64 = self.steps.iter().map(|s| s.flops).sum();
        let _ = writeln!(
            out,
            "profile: {} steps, {:.3} ms per run (sum of synchronised steps), {:.3} GFLOP, {:.1} GFLOP/s",
            self.steps.len(),
            self.total_seconds * 1e3,
            flops as f64 / 1e9,
            if self.total_seconds > 0.0 {
                flops as f64 / self.total_seconds / 1e9
            } else {
                0.0
            }
        );
        let mut peaks: Vec<_> = self.peaks.iter().collect();
        peaks.sort_by(|a, b| a.0.cmp(b.0));
        for (d, (p, measured)) in peaks {
            let how = if *measured { "measured" } else { "estimated" };
            let _ = writeln!(out, "peak {d}: {p:.1} GFLOP/s ({how})");
        }
        let _ = writeln!(out, "by op:");
        self.table(&self.by_op(), &mut out);
        let _ = writeln!(out, "slowest steps:");
        self.table(&self.steps[..top.min(self.steps.len())], &mut out);
        out
    }

    /// The profile as JSON (every step, slowest first).
    pub fn to_json(&self) -> serde_json::Value {
        let steps: Vec<_> = self
            .steps
            .iter()
            .map(|s| {
                serde_json::json!({"node": s.node, "op": s.op, "device": s.device, "ms": s.seconds * 1e3,
                    "flops": s.flops, "bytes": s.bytes, "gflops": s.gflops(), "peak_pct": self.peak_pct(s)})
            })
            .collect();
        let peaks: serde_json::Map<String, serde_json::Value> = self
            .peaks
            .iter()
            .map(|(d, (p, m))| (d.clone(), serde_json::json!({"gflops": p, "measured": m})))
            .collect();
        serde_json::json!({"total_ms": self.total_seconds * 1e3, "peaks": peaks, "steps": steps})
    }
}
