//! After warm-up, a CPU session run allocates nothing beyond its outputs. A counting global
//! allocator measures every allocation on every thread (the caller's and the pool's) during
//! one run; the budget is the outputs' bytes plus [`ALLOWANCE`].
//!
//! `SUANLI_ALLOC_TRACE=N` prints the N largest allocations of the measured run with their
//! backtraces (build with debug line tables to read them).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use suanli::graph::builder::GraphBuilder;
use suanli::kernels::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp};
use suanli::kernels::ops::layout::LayoutOp;
use suanli::kernels::ops::linalg::LinalgOp;
use suanli::kernels::{Dim, Op};
use suanli::{DType, Session, Tensor};

struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static TRACE: AtomicBool = AtomicBool::new(false);
static BYTES: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);
/// Bytes allocated minus bytes freed while counting (wrapping: frees of older blocks count too).
static NET: AtomicUsize = AtomicUsize::new(0);
/// Traced allocations: (bytes, backtrace).
static TRACED: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());

thread_local! {
    /// Set while this thread records a backtrace (which allocates itself).
    static IN_TRACE: Cell<bool> = const { Cell::new(false) };
}

fn count(bytes: usize) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    if TRACE.load(Ordering::Relaxed) && !IN_TRACE.with(|t| t.replace(true)) {
        let bt = std::backtrace::Backtrace::force_capture().to_string();
        if let Ok(mut v) = TRACED.lock() {
            v.push((bytes, bt));
        }
        IN_TRACE.with(|t| t.set(false));
    } else if IN_TRACE.with(|t| t.get()) {
        return;
    }
    BYTES.fetch_add(bytes, Ordering::Relaxed);
    CALLS.fetch_add(1, Ordering::Relaxed);
    NET.fetch_add(bytes, Ordering::Relaxed);
}

fn uncount(bytes: usize) {
    if ON.load(Ordering::Relaxed) && !IN_TRACE.with(|t| t.get()) {
        NET.fetch_sub(bytes, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(l.size());
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        count(l.size());
        System.alloc_zeroed(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        uncount(l.size());
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // Counted as a fresh block of the new size.
        count(new);
        uncount(l.size());
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Tests in this binary count every thread's allocations, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Bytes a run may allocate beyond its output tensors: `Session::run` returns a fresh
/// `Vec<(String, Tensor)>`, and each entry owns its name `String` and its shape `Vec`. For the
/// models here (one or two outputs, rank ≤ 4, short names) that is under 200 bytes.
const ALLOWANCE: usize = 256;

/// Bytes and calls allocated while `f` runs.
fn counted<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    let trace = std::env::var("SUANLI_ALLOC_TRACE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok());
    TRACED.lock().unwrap_or_else(|e| e.into_inner()).clear();
    BYTES.store(0, Ordering::SeqCst);
    CALLS.store(0, Ordering::SeqCst);
    NET.store(0, Ordering::SeqCst);
    TRACE.store(trace.is_some(), Ordering::SeqCst);
    ON.store(true, Ordering::SeqCst);
    let r = f();
    ON.store(false, Ordering::SeqCst);
    TRACE.store(false, Ordering::SeqCst);
    if let Some(n) = trace {
        let mut v = std::mem::take(&mut *TRACED.lock().unwrap_or_else(|e| e.into_inner()));
        v.sort_by(|a, b| b.0.cmp(&a.0));
        for (bytes, bt) in v.iter().take(n) {
            println!("---- {bytes} bytes\n{bt}");
        }
    }
    (r, BYTES.load(Ordering::SeqCst), CALLS.load(Ordering::SeqCst))
}

/// Runs before the counted one (`SUANLI_ALLOC_WARMUP` overrides). One run fills the recycler
/// with every intermediate; the rest let the kernels' shared scratch pools reach the most
/// buffers held at once, which with two workers depends on work stealing (a worker waiting in
/// a parallel loop may steal a task that takes another buffer) and so varies between runs:
/// after 10 runs about one measured run in seven still added a buffer, after 30 none did.
const WARMUP: usize = 30;

/// Warm `session` up, then count runs until one stays within the budget (at most [`MEASURED`]).
fn check(label: &str, session: &Session, inputs: &[(&str, Tensor)]) {
    let warm: usize = std::env::var("SUANLI_ALLOC_WARMUP")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(WARMUP);
    // Start every worker of the session's pools (a thread's first steal registers it with
    // crossbeam and rayon, which allocates): a small model's warm-up runs can finish before a
    // freshly spawned worker has run at all.
    for d in session.devices() {
        d.run_scope(&mut || {
            rayon::broadcast(|_| ());
        });
    }
    // The first run's outputs: kernels write recycled storage without clearing it first, so a
    // warm run that left part of an output unwritten would differ from them.
    let first = session.run(inputs).unwrap_or_else(|e| panic!("{label}: {e}"));
    for _ in 0..warm {
        session.run(inputs).unwrap_or_else(|e| panic!("{label}: {e}"));
    }
    // The shared scratch pools only grow, and with two workers work stealing can, rarely, nest
    // one more buffer than the warm-up ever did: such a run is still warming up, and the next
    // one allocates nothing. A per-run allocation fails every attempt.
    let mut seen = Vec::new();
    for _ in 0..MEASURED {
        let (outs, bytes, calls) = counted(|| session.run(inputs));
        let outs = outs.unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(
            outs == first,
            "{label}: a warm run's outputs differ from the first run's"
        );
        let out_bytes: usize = outs.iter().map(|(_, t)| t.byte_size()).sum();
        println!(
            "{label}: a warm run allocated {bytes} bytes in {calls} calls; outputs {out_bytes} bytes, \
             {} beyond them",
            bytes as isize - out_bytes as isize
        );
        if bytes <= out_bytes + ALLOWANCE {
            return;
        }
        seen.push((bytes, calls, out_bytes));
    }
    panic!(
        "{label}: each of {MEASURED} warm runs allocated more than its outputs + {ALLOWANCE} bytes \
         (bytes, calls, output bytes): {seen:?}"
    );
}

/// Warm runs measured before the test fails (see [`check`]).
const MEASURED: usize = 3;

/// Zero inputs of the session's declared shapes (symbolic dims bound to 1).
fn zeros_for(session: &Session) -> Vec<(String, Tensor)> {
    session
        .inputs()
        .into_iter()
        .map(|(name, ty)| {
            let t = ty.tensor().expect("tensor input");
            let shape: Vec<usize> = t
                .shape
                .as_ref()
                .map(|s| s.iter().map(|d| d.known().unwrap_or(1)).collect())
                .unwrap_or_default();
            (name, Tensor::zeros(t.dtype, shape))
        })
        .collect()
}

fn check_file(label: &str, path: &Path) {
    if !path.exists() {
        println!("SKIPPED: {label}: {} is missing", path.display());
        return;
    }
    // Sessions live to the end: a dropped session's worker threads exit in the background,
    // and their thread-local destructors (crossbeam's epoch bags) allocate.
    let mut sessions = Vec::new();
    for threads in [1, 2] {
        let session = Session::builder()
            .intra_threads(threads)
            .build_from_file(path)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let inputs = zeros_for(&session);
        let refs: Vec<(&str, Tensor)> = inputs.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
        check(&format!("{label} threads={threads}"), &session, &refs);
        sessions.push(session);
    }
    settle(sessions);
}

/// Drop `sessions` and give their worker threads time to exit before the next test counts.
fn settle(sessions: Vec<Session>) {
    drop(sessions);
    std::thread::sleep(std::time::Duration::from_millis(200));
}

fn cache() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache")
}

#[test]
fn warm_runs_allocate_only_outputs_on_squeezenet() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    check_file(
        "squeezenet",
        &cache().join("onnx/light-prepared/light_squeezenet.random.onnx"),
    );
}

#[test]
fn warm_runs_allocate_only_outputs_on_shufflenet() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    check_file(
        "shufflenet",
        &cache().join("onnx/light-prepared/light_shufflenet.random.onnx"),
    );
}

#[test]
fn warm_runs_allocate_only_outputs_on_resnet50() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    check_file(
        "resnet50",
        &cache().join("onnx/light-prepared/light_resnet50.random.onnx"),
    );
}

#[test]
fn warm_runs_allocate_only_outputs_on_densenet121() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    check_file(
        "densenet121",
        &cache().join("onnx/light-prepared/light_densenet121.random.onnx"),
    );
}

#[test]
fn warm_runs_allocate_only_outputs_on_inception_v1() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    check_file(
        "inception_v1",
        &cache().join("onnx/light-prepared/light_inception_v1.random.onnx"),
    );
}

#[test]
fn warm_runs_allocate_only_outputs_on_bert_encoder() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    check_file("bert_encoder", &cache().join("bench/bert_encoder.onnx"));
}

/// A model built in code: MatMul, bias Add, Relu, Flatten, a residual Add.
fn built_model() -> suanli::Graph {
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::F32, vec![Dim::Known(64), Dim::Known(128)]);
    let w = b.constant(
        "w",
        Tensor::from_vec(vec![128, 128], (0..128 * 128).map(|i| (i % 7) as f32 * 0.01).collect()).unwrap(),
    );
    let bias = b.constant("b", Tensor::from_vec(vec![128], vec![0.5f32; 128]).unwrap());
    let m = b.op(Op::Linalg(LinalgOp::MatMul), &[x, w]);
    let a = b.op(Op::Elementwise(ElementwiseOp::Binary(BinaryOp::Add)), &[m, bias]);
    let r = b.op(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Relu)), &[a]);
    let f = b.op(Op::Layout(LayoutOp::Flatten { axis: 1 }), &[r]);
    let y = b.op(Op::Elementwise(ElementwiseOp::Binary(BinaryOp::Add)), &[f, x]);
    b.output(y, "y");
    b.build().unwrap()
}

#[test]
fn warm_runs_allocate_only_outputs_on_a_built_model() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let x = Tensor::from_vec(vec![64, 128], (0..64 * 128).map(|i| (i % 13) as f32 - 6.0).collect()).unwrap();
    let mut sessions = Vec::new();
    for optimize in [true, false] {
        for threads in [1, 2] {
            let s = Session::builder()
                .intra_threads(threads)
                .optimize(optimize)
                .build_from_graph(built_model())
                .unwrap();
            check(
                &format!("built model optimize={optimize} threads={threads}"),
                &s,
                &[("x", x.clone())],
            );
            sessions.push(s);
        }
    }
    settle(sessions);
}

/// `y = Relu(x · w)`: `x` an `rows × k` input, `w` a constant `k × n`.
fn matmul_relu(rows: usize, k: usize, n: usize) -> suanli::Graph {
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::F32, vec![Dim::Known(rows), Dim::Known(k)]);
    let w = b.constant(
        "w",
        Tensor::from_vec(vec![k, n], (0..k * n).map(|i| (i % 11) as f32 * 0.01).collect()).unwrap(),
    );
    let m = b.op(Op::Linalg(LinalgOp::MatMul), &[x, w]);
    let r = b.op(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Relu)), &[m]);
    b.output(r, "y");
    b.build().unwrap()
}

/// A one-thread session of `g`, with or without the graph passes.
fn one_thread_session(g: &suanli::Graph, optimize: bool) -> Session {
    Session::builder()
        .intra_threads(1)
        .optimize(optimize)
        .build_from_graph(g.clone())
        .unwrap()
}

/// The CPU device shares the graph's constants instead of copying them when a run first needs
/// them, so a model's weights are held once (besides their packed form).
#[test]
fn the_first_run_does_not_copy_the_weights() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (k, n) = (512, 512);
    let g = matmul_relu(1, k, n);
    let mut sessions = Vec::new();
    for optimize in [true, false] {
        let s = one_thread_session(&g, optimize);
        let x = Tensor::from_vec(vec![1, k], (0..k).map(|i| (i % 5) as f32).collect()).unwrap();
        let (outs, bytes, _) = counted(|| s.run(&[("x", x.clone())]));
        outs.unwrap();
        let weight_bytes = k * n * 4;
        println!("optimize={optimize}: the first run allocated {bytes} bytes; the weights are {weight_bytes}");
        assert!(
            bytes < weight_bytes / 2,
            "optimize={optimize}: the first run allocated {bytes} bytes, as if it copied the {weight_bytes} bytes of weights"
        );
        sessions.push(s);
    }
    settle(sessions);
}

/// Runs that each get fresh inputs (a server's requests) keep nothing of them: the caller's
/// input storage is freed with its run, not kept as spare storage that no later run asks for
/// (which grew a squeezenet process by an input's 600 KB per run up to the pool's bound).
#[test]
fn runs_on_fresh_inputs_keep_nothing() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The input's size is no intermediate's, so nothing would ever ask for its storage.
    let g = matmul_relu(64, 128, 32);
    let x = Tensor::from_vec(vec![64, 128], (0..64 * 128).map(|i| (i % 13) as f32 - 6.0).collect()).unwrap();
    let mut sessions = Vec::new();
    for optimize in [true, false] {
        let s = one_thread_session(&g, optimize);
        for _ in 0..5 {
            s.run_values(vec![("x".to_string(), suanli::Value::Tensor(x.clone()))])
                .unwrap();
        }
        let runs = 20;
        let (_, _, _) = counted(|| {
            for _ in 0..runs {
                // The input is made, handed over by value, and the outputs dropped inside the
                // counted stretch.
                let input = vec![("x".to_string(), suanli::Value::Tensor(x.clone()))];
                drop(s.run_values(input).unwrap());
            }
        });
        let net = NET.load(Ordering::SeqCst) as isize;
        println!("optimize={optimize}: {runs} runs on fresh inputs kept {net} bytes");
        assert!(
            net < x.byte_size() as isize,
            "optimize={optimize}: {runs} runs kept {net} bytes (an input is {} bytes)",
            x.byte_size()
        );
        sessions.push(s);
    }
    settle(sessions);
}
