//! The CPU device: runs the kernels crate's CPU kernels on a rayon thread pool.

use crate::device::{Device, DeviceError, DeviceInfo, DeviceTensor, Kernel, Result, Support};
use std::any::Any;
use std::sync::Arc;
use suanli_kernels::{KernelSpec, Tensor};

/// The host CPU as a device. Supports every kernel: it is the fallback for all others.
pub struct CpuDevice {
    info: DeviceInfo,
    name: Arc<str>,
    pool: rayon::ThreadPool,
    peak: std::sync::OnceLock<f64>,
}

struct CpuKernel {
    spec: KernelSpec,
    /// What was derived once at compile time: packed constant weights (GEMM / conv) or a
    /// fused program's fast form.
    prepared: Option<suanli_kernels::ops::fused::Prepared>,
}

impl Kernel for CpuKernel {
    fn spec(&self) -> &KernelSpec {
        &self.spec
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl CpuDevice {
    /// A CPU device using `threads` worker threads (0 = one per available core).
    pub fn new(threads: usize) -> Result<CpuDevice> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        } else {
            threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("suanli-cpu-{i}"))
            .build()
            .map_err(|e| DeviceError::Driver(format!("cannot start {threads} CPU threads: {e}")))?;
        let info = DeviceInfo {
            name: "cpu".into(),
            kind: "cpu".into(),
            description: cpu_model_name(),
            memory_bytes: None,
            // Rough per-core figures; the cost model only needs orders of magnitude.
            peak_gflops: 50.0 * threads as f64,
            bandwidth_gbs: 20.0,
            launch_us: 1.0,
            link_gbs: 0.0,
            capabilities: vec![format!("threads={threads}"), format!("simd={}", simd_level())],
        };
        Ok(CpuDevice {
            info,
            name: Arc::from("cpu"),
            pool,
            peak: std::sync::OnceLock::new(),
        })
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    fn wrap(&self, t: Tensor) -> DeviceTensor {
        DeviceTensor {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            device: self.name.clone(),
            storage: Arc::new(t),
        }
    }

    fn host<'a>(&self, t: &'a DeviceTensor) -> Result<&'a Tensor> {
        t.host().ok_or_else(|| DeviceError::ForeignTensor {
            owner: t.device.to_string(),
        })
    }
}

impl Device for CpuDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn supports(&self, _spec: &KernelSpec) -> Support {
        Support::Native
    }

    fn measured_peak_gflops(&self) -> Option<f64> {
        // Every worker runs the multiply-add loop at once, so shared cores count once.
        Some(*self.peak.get_or_init(|| {
            self.pool
                .broadcast(|_| suanli_kernels::peak::core_gflops(std::time::Duration::from_millis(150)))
                .into_iter()
                .sum()
        }))
    }

    fn run_scope(&self, f: &mut (dyn FnMut() + Send)) {
        // One hand-off to the pool per run instead of one per kernel: the run's launches then
        // execute on a worker (a per-launch hand-off wakes and parks threads each time, and
        // with every core busy the waiting caller competes with the workers).
        if self.pool.current_thread_index().is_some() {
            f()
        } else {
            self.pool.install(f)
        }
    }

    fn upload(&self, t: &Tensor) -> Result<DeviceTensor> {
        Ok(self.wrap(t.clone()))
    }

    fn adopt(&self, t: Tensor) -> Result<DeviceTensor> {
        Ok(self.wrap(t))
    }

    fn download(&self, t: &DeviceTensor) -> Result<Tensor> {
        Ok(self.host(t)?.clone())
    }

    fn compile(&self, spec: &KernelSpec) -> Result<Arc<dyn Kernel>> {
        Ok(Arc::new(CpuKernel {
            spec: spec.clone(),
            prepared: None,
        }))
    }

    fn compile_with(&self, spec: &KernelSpec, consts: &[Option<&Tensor>]) -> Result<Arc<dyn Kernel>> {
        // Weights that cannot be packed (malformed shapes) run unpacked, so the launch reports
        // the kernel's own error naming the node.
        let prepared = suanli_kernels::ops::fused::prepare_spec(spec, consts).ok().flatten();
        Ok(Arc::new(CpuKernel {
            spec: spec.clone(),
            prepared,
        }))
    }

    fn launch(&self, kernel: &dyn Kernel, inputs: &[Option<&DeviceTensor>]) -> Result<Vec<DeviceTensor>> {
        let host: Vec<Option<&Tensor>> = inputs
            .iter()
            .map(|t| t.map(|t| self.host(t)).transpose())
            .collect::<Result<_>>()?;
        let op = &kernel.spec().op;
        let prepared = kernel
            .as_any()
            .downcast_ref::<CpuKernel>()
            .and_then(|k| k.prepared.as_ref());
        let run = || match prepared {
            Some(p) => suanli_kernels::ops::fused::run_prepared(op, p, &host),
            None => op.run(&host),
        };
        // Inside a run scope the caller is already one of this pool's workers.
        let outs = if self.pool.current_thread_index().is_some() {
            run()
        } else {
            self.pool.install(run)
        }?;
        Ok(outs.into_iter().map(|t| self.wrap(t)).collect())
    }
}

fn cpu_model_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return "avx2+fma";
        }
        "sse2"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}
