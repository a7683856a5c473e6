//! The CPU device: runs the kernels crate's CPU kernels on a rayon thread pool.

use crate::device::{Device, DeviceError, DeviceInfo, DeviceTensor, Kernel, Result, Support};
use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use suanli_kernels::buffers::{self, Recycler};
use suanli_kernels::ops::layout::LayoutOp;
use suanli_kernels::{KernelSpec, Op, Tensor};

/// The host CPU as a device. Supports every kernel: it is the fallback for all others.
pub struct CpuDevice {
    info: DeviceInfo,
    name: Arc<str>,
    pool: rayon::ThreadPool,
    peak: std::sync::OnceLock<f64>,
    /// Storage of released values, handed to kernels for their outputs.
    recycler: Arc<Recycler>,
    /// Handles of released values (their `Arc` and shape vector), emptied, for new outputs.
    shells: Mutex<Vec<DeviceTensor>>,
    /// Idle workers spin for work during a run (see [`CpuDevice::with_spinning`]).
    spin: bool,
}

/// How long a spinning worker looks for work without finding any before it stops spinning
/// (and falls back to the pool's usual yield-then-sleep).
const SPIN_IDLE: std::time::Duration = std::time::Duration::from_millis(1);

thread_local! {
    /// This thread is a run's owner or one of its spinners (a spinner job it picks up returns
    /// at once).
    static SPINNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Sets the run's `done` flag and restores this thread's [`SPINNING`] mark when dropped, also
/// on unwinding.
struct EndSpin<'a> {
    done: &'a AtomicBool,
    was_spinning: bool,
}

impl Drop for EndSpin<'_> {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        SPINNING.with(|s| s.set(self.was_spinning));
    }
}

/// Run `f` on this worker while up to `spinners` other workers spin for work until it returns.
///
/// Each spinner is the second half of a `rayon::join` (on the stack: no allocation), so an idle
/// worker steals it and then executes, through `rayon::yield_now`, every job the run's kernels
/// fork, without sleeping in between. A spinner that lands on a thread already spinning, or on
/// the owner itself, returns at once; one that finds no work for [`SPIN_IDLE`] returns too.
fn with_spinners<R: Send>(spinners: usize, done: &AtomicBool, f: impl FnOnce() -> R + Send) -> R {
    if spinners == 0 {
        let _end = EndSpin {
            done,
            was_spinning: SPINNING.with(|s| s.replace(true)),
        };
        return f();
    }
    rayon::join(|| with_spinners(spinners - 1, done, f), || spin(done)).0
}

/// One spinner's loop (see [`with_spinners`]).
fn spin(done: &AtomicBool) {
    if done.load(Ordering::Acquire) || SPINNING.with(|s| s.replace(true)) {
        return;
    }
    #[cfg(test)]
    {
        tests::SPINNERS.fetch_add(1, Ordering::SeqCst);
        tests::STARTS.fetch_add(1, Ordering::SeqCst);
    }
    let mut idle_since: Option<std::time::Instant> = None;
    while !done.load(Ordering::Acquire) {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => idle_since = None,
            _ => {
                if idle_since.get_or_insert_with(std::time::Instant::now).elapsed() > SPIN_IDLE {
                    break;
                }
                std::hint::spin_loop();
            }
        }
    }
    #[cfg(test)]
    tests::SPINNERS.fetch_sub(1, Ordering::SeqCst);
    SPINNING.with(|s| s.set(false));
}

/// Most inputs a launch passes to the kernel without allocating a list for them.
const STACK_INPUTS: usize = 8;

struct CpuKernel {
    spec: KernelSpec,
    /// What was derived once at compile time: packed constant weights (GEMM / conv) or a
    /// fused program's fast form.
    prepared: Option<suanli_kernels::ops::fused::Prepared>,
    /// For a shape-only op (Reshape, Flatten, Squeeze, Unsqueeze, Identity) whose output
    /// shape the spec states: that shape, so a launch whose input dies there renames the
    /// input in place instead of copying it.
    alias: Option<Vec<usize>>,
}

impl CpuKernel {
    fn new(spec: &KernelSpec, prepared: Option<suanli_kernels::ops::fused::Prepared>) -> CpuKernel {
        let shape_only = matches!(
            spec.op,
            Op::Layout(
                LayoutOp::Reshape { .. }
                    | LayoutOp::Flatten { .. }
                    | LayoutOp::Squeeze { .. }
                    | LayoutOp::Unsqueeze { .. }
                    | LayoutOp::Identity
            )
        );
        let alias = match spec.outputs.as_slice() {
            [out] if shape_only => out.concrete(),
            _ => None,
        };
        CpuKernel {
            spec: spec.clone(),
            prepared,
            alias,
        }
    }
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
            recycler: Arc::new(Recycler::default()),
            shells: Mutex::new(Vec::new()),
            spin: false,
        }
        .with_spinning(true))
    }

    /// Whether idle workers spin for work during a run (the default) or sleep between
    /// kernels. Spinning saves waking a sleeping worker at every parallel kernel and costs the
    /// idle cores' time while a run lasts. It is used only when every worker has a core of
    /// its own.
    pub fn with_spinning(mut self, on: bool) -> CpuDevice {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.spin = on && self.threads() <= cores;
        self
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    fn wrap(&self, t: Tensor) -> DeviceTensor {
        let shell = self.shells.lock().ok().and_then(|mut s| s.pop());
        if let Some(mut d) = shell {
            // Shells hold the only reference to an emptied host tensor (see `release`).
            if let Some(slot) = Self::unique(&mut d.storage) {
                d.dtype = t.dtype();
                d.shape.clear();
                d.shape.extend_from_slice(t.shape());
                let empty = std::mem::replace(slot, t);
                self.recycler.give(empty);
                return d;
            }
        }
        let mut shape = Vec::with_capacity(t.rank().max(8));
        shape.extend_from_slice(t.shape());
        DeviceTensor {
            dtype: t.dtype(),
            shape,
            device: self.name.clone(),
            storage: Arc::new(t),
        }
    }

    /// The host tensor behind a tensor's `storage` for writing, when that is its only
    /// reference.
    fn unique(storage: &mut Arc<dyn Any + Send + Sync>) -> Option<&mut Tensor> {
        Arc::get_mut(storage).and_then(|a| a.downcast_mut::<Tensor>())
    }

    /// Run `f` on this device's pool with its recycler installed: directly when already
    /// there (inside [`Device::run_scope`]), otherwise by handing it to the pool.
    fn enter<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        if self.pool.current_thread_index().is_some() && buffers::installed() {
            f()
        } else {
            self.pool.install(|| buffers::with(&self.recycler, f))
        }
    }

    /// The kernel's output as input 0 renamed in place, when the kernel is shape-only and
    /// input 0 dies here with no other reference (see [`CpuKernel::alias`]).
    fn alias(
        &self,
        kernel: &dyn Kernel,
        inputs: &mut [Option<DeviceTensor>],
        last_use: &[bool],
    ) -> Option<DeviceTensor> {
        let k = kernel.as_any().downcast_ref::<CpuKernel>()?;
        let shape = k.alias.as_deref()?;
        if !last_use.first().copied().unwrap_or(false) {
            return None;
        }
        let t = Self::unique(&mut inputs.first_mut()?.as_mut()?.storage)?;
        if t.dtype() != k.spec.outputs[0].dtype || t.set_shape(shape).is_err() {
            return None;
        }
        let mut x = inputs[0].take()?;
        x.shape.clear();
        x.shape.extend_from_slice(shape);
        Some(x)
    }

    /// Run the kernel on the host tensors of `inputs` (listed inline for up to
    /// [`STACK_INPUTS`] inputs) and wrap its outputs onto `outputs`.
    fn run_launch<'a>(
        &self,
        kernel: &dyn Kernel,
        inputs: impl Iterator<Item = Option<&'a DeviceTensor>>,
        outputs: &mut Vec<DeviceTensor>,
    ) -> Result<()> {
        let host = inputs
            .map(|t| t.map(|t| self.host(t)).transpose())
            .collect::<Result<smallvec::SmallVec<[Option<&Tensor>; STACK_INPUTS]>>>()?;
        let host = &host[..];
        let mut outs = self.enter(|| self.run_kernel(kernel, host))?;
        outputs.extend(outs.drain(..).map(|t| self.wrap(t)));
        self.recycler.give_list(outs);
        Ok(())
    }

    /// Run the kernel's CPU implementation (its prepared form where compiled with one).
    fn run_kernel(&self, kernel: &dyn Kernel, host: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let op = &kernel.spec().op;
        let prepared = kernel
            .as_any()
            .downcast_ref::<CpuKernel>()
            .and_then(|k| k.prepared.as_ref());
        Ok(match prepared {
            Some(p) => suanli_kernels::ops::fused::run_prepared(op, p, host),
            None => op.run(host),
        }?)
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
        // with every core busy the waiting caller competes with the workers). The recycler is
        // installed on that worker, so kernels take their outputs from dead values. While the
        // run lasts the other workers spin for its kernels' work instead of sleeping.
        let workers = self.threads();
        if !self.spin || workers < 2 {
            return self.enter(f);
        }
        self.enter(|| {
            let done = AtomicBool::new(false);
            with_spinners(workers - 1, &done, f)
        })
    }

    fn reserve(&self, bytes: usize) -> Result<()> {
        // Enough free storage for every intermediate of the plan's peak, twice over.
        self.recycler.reserve_cap(bytes.saturating_mul(2));
        Ok(())
    }

    fn upload(&self, t: &Tensor) -> Result<DeviceTensor> {
        Ok(self.wrap(buffers::with(&self.recycler, || buffers::clone_tensor(t))))
    }

    fn release(&self, mut t: DeviceTensor) {
        let Some(host) = Self::unique(&mut t.storage) else {
            return;
        };
        // The shell keeps the tensor's shape vector (recycled when the shell is refilled) and
        // no elements; it never leaves this device until `wrap` fills it.
        let data = std::mem::replace(host.data_mut(), suanli_kernels::TensorData::U8(Vec::new()));
        self.recycler.give_data(data);
        if let Ok(mut shells) = self.shells.lock() {
            shells.push(t);
        }
    }

    fn launch_owned(
        &self,
        kernel: &dyn Kernel,
        inputs: &mut [Option<DeviceTensor>],
        last_use: &[bool],
        outputs: &mut Vec<DeviceTensor>,
    ) -> Result<()> {
        match self.alias(kernel, inputs, last_use) {
            Some(out) => outputs.push(out),
            None => self.run_launch(kernel, inputs.iter().map(Option::as_ref), outputs)?,
        }
        // Inputs that die here become storage for later outputs.
        for (t, &last) in inputs.iter_mut().zip(last_use) {
            if last {
                if let Some(t) = t.take() {
                    self.release(t);
                }
            }
        }
        Ok(())
    }

    fn adopt(&self, t: Tensor) -> Result<DeviceTensor> {
        Ok(self.wrap(t))
    }

    fn upload_shared(&self, t: &Arc<Tensor>) -> Result<DeviceTensor> {
        // The caller keeps a reference, so `unique` never hands this storage to a kernel for
        // writing nor `release` to the recycler.
        Ok(DeviceTensor {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            device: self.name.clone(),
            storage: t.clone(),
        })
    }

    fn download(&self, t: &DeviceTensor) -> Result<Tensor> {
        Ok(self.host(t)?.clone())
    }

    fn compile(&self, spec: &KernelSpec) -> Result<Arc<dyn Kernel>> {
        Ok(Arc::new(CpuKernel::new(spec, None)))
    }

    fn compile_with(&self, spec: &KernelSpec, consts: &[Option<&Tensor>]) -> Result<Arc<dyn Kernel>> {
        // Weights that cannot be packed (malformed shapes) run unpacked, so the launch reports
        // the kernel's own error naming the node.
        let prepared = suanli_kernels::ops::fused::prepare_spec(spec, consts).ok().flatten();
        Ok(Arc::new(CpuKernel::new(spec, prepared)))
    }

    fn launch(&self, kernel: &dyn Kernel, inputs: &[Option<&DeviceTensor>]) -> Result<Vec<DeviceTensor>> {
        let mut outputs = Vec::new();
        self.run_launch(kernel, inputs.iter().copied(), &mut outputs)?;
        Ok(outputs)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

    /// Spinners currently in their loop (every test here uses its own 2-worker pool, and they
    /// run one at a time through [`LOCK`]).
    pub(super) static SPINNERS: AtomicUsize = AtomicUsize::new(0);
    /// Spinners ever started.
    pub(super) static STARTS: AtomicUsize = AtomicUsize::new(0);
    static LOCK: Mutex<()> = Mutex::new(());

    /// Wait up to a second for `cond`.
    fn eventually(cond: impl Fn() -> bool) -> bool {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(1) {
            if cond() {
                return true;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        cond()
    }

    fn pool() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap()
    }

    /// Run `f` as a run with one spinner on a fresh 2-worker pool (tests one at a time). `f`
    /// is told whether a spinner started within a second; returns whether the run's end was
    /// signalled, and `f`'s result.
    fn run_with_one_spinner<R: Send>(f: impl FnOnce(bool) -> R + Send) -> (bool, R) {
        let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let done = AtomicBool::new(false);
        let before = STARTS.load(Ordering::SeqCst);
        let r = pool().install(|| with_spinners(1, &done, || f(eventually(|| STARTS.load(Ordering::SeqCst) > before))));
        (done.load(Ordering::SeqCst), r)
    }

    #[test]
    fn a_spinner_runs_on_another_worker_while_the_run_lasts_and_executes_its_forks() {
        let (done, (spun, forked_elsewhere)) = run_with_one_spinner(|spun| {
            // A fork made now is taken by the spinning worker.
            let me = std::thread::current().id();
            let (_, other) = rayon::join(
                || std::thread::sleep(Duration::from_millis(20)),
                || std::thread::current().id(),
            );
            (spun, other != me)
        });
        assert!(spun, "no worker was spinning during the run");
        assert!(
            forked_elsewhere,
            "the fork ran on the owner, not on the spinning worker"
        );
        assert!(done, "the run's end was not signalled");
        assert!(
            eventually(|| SPINNERS.load(Ordering::SeqCst) == 0),
            "a spinner outlived its run"
        );
    }

    #[test]
    fn a_spinner_that_finds_no_work_stops_before_the_run_ends() {
        let (_, (started, stopped)) = run_with_one_spinner(|started| {
            // A long sequential stretch: no work for the spinner.
            let stopped = eventually(|| SPINNERS.load(Ordering::SeqCst) == 0);
            (started, stopped)
        });
        assert!(
            started && stopped,
            "spinner started: {started}, stopped while idle: {stopped}"
        );
    }

    #[test]
    fn a_panicking_run_ends_its_spinners_and_the_pool_stays_usable() {
        let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let pool = pool();
        let done = AtomicBool::new(false);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| with_spinners(1, &done, || panic!("kernel failed")))
        }));
        assert!(r.is_err());
        assert!(
            done.load(Ordering::SeqCst),
            "the run's end was not signalled on unwinding"
        );
        let marked = pool.broadcast(|_| SPINNING.with(|s| s.get()));
        assert_eq!(marked, vec![false, false], "a worker is still marked as spinning");
        let sum: u64 = pool.install(|| {
            use rayon::prelude::*;
            (0..1000u64).into_par_iter().sum()
        });
        assert_eq!(sum, 499_500);
    }
}
