//! Placement: pick a device for every node from the devices' `supports` answers and a cost model.

use std::sync::Arc;
use suanli_backends::{Device, Support};
use suanli_kernels::KernelSpec;

/// What to do when the preferred device cannot run a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Policy {
    /// Fall back to another device quietly.
    #[default]
    Allow,
    /// Fall back and report each fallback on stderr.
    Warn,
    /// Fail, listing every node the preferred device cannot run.
    Deny,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Policy, String> {
        match s {
            "allow" => Ok(Policy::Allow),
            "warn" => Ok(Policy::Warn),
            "deny" => Ok(Policy::Deny),
            _ => Err(format!("unknown policy {s:?} (expected allow, warn or deny)")),
        }
    }
}

/// Where one node runs, and why.
#[derive(Clone, Debug)]
pub struct Decision {
    /// Index into the session's devices.
    pub device: usize,
    /// Human-readable reason.
    pub reason: String,
    /// True when the preferred device (index 0) could not run it.
    pub fallback: bool,
}

/// Estimated seconds to run `spec` on `dev`: arithmetic + memory traffic + launch + the
/// transfers of inputs that live elsewhere.
pub fn cost(dev: &dyn Device, flops: u64, bytes: u64, transfer_bytes: u64) -> f64 {
    let i = dev.info();
    let compute = flops as f64 / (i.peak_gflops.max(1e-3) * 1e9);
    let memory = bytes as f64 / (i.bandwidth_gbs.max(1e-3) * 1e9);
    let link = if transfer_bytes == 0 {
        0.0
    } else {
        transfer_bytes as f64 / (i.link_gbs.max(1.0) * 1e9)
    };
    compute.max(memory) + i.launch_us * 1e-6 + link
}

/// Decide a device for one kernel node.
///
/// `input_homes[d]` = bytes of this node's inputs that already live on device `d`.
pub fn place_kernel(
    devices: &[Arc<dyn Device>],
    spec: Option<&KernelSpec>,
    flops: u64,
    bytes: u64,
    input_homes: &[u64],
    cpu: usize,
) -> Decision {
    let Some(spec) = spec else {
        return Decision {
            device: cpu,
            reason: "operand types are only known at run time: runs on the host".into(),
            fallback: cpu != 0,
        };
    };
    let support: Vec<Support> = devices.iter().map(|d| d.supports(spec)).collect();
    // The device the user named first runs every node it supports (as an ONNX Runtime
    // execution-provider list does): predictable, and it keeps values on that device. The
    // cost model chooses among the others for the nodes it cannot run.
    if support[0].is_native() {
        return Decision {
            device: 0,
            reason: format!("{}: native (preferred device)", devices[0].info().name),
            fallback: false,
        };
    }
    let total_in: u64 = input_homes.iter().sum();
    let mut best: Option<(usize, f64)> = None;
    for (d, s) in support.iter().enumerate() {
        if !s.is_native() {
            continue;
        }
        let c = cost(
            devices[d].as_ref(),
            flops,
            bytes,
            total_in - input_homes.get(d).copied().unwrap_or(0),
        );
        if best.is_none_or(|(_, bc)| c < bc) {
            best = Some((d, c));
        }
    }
    match best {
        Some((d, c)) => {
            let mut reason = format!("{}: native, est. {:.1} us", devices[d].info().name, c * 1e6);
            if let Support::Unsupported(why) = &support[0] {
                reason = format!("{reason}; {} cannot: {why}", devices[0].info().name);
            }
            Decision {
                device: d,
                reason,
                fallback: d != 0 && !support[0].is_native(),
            }
        }
        None => Decision {
            device: cpu,
            reason: format!(
                "no device supports it natively; {}",
                describe_unsupported(devices, &support)
            ),
            fallback: cpu != 0,
        },
    }
}

fn describe_unsupported(devices: &[Arc<dyn Device>], support: &[Support]) -> String {
    devices
        .iter()
        .zip(support)
        .filter_map(|(d, s)| match s {
            Support::Unsupported(w) => Some(format!("{}: {w}", d.info().name)),
            Support::Native => None,
        })
        .collect::<Vec<_>>()
        .join("; ")
}
