//! The CPU thread-count setting (`intra_threads`) reaches the kernels of a run.

use std::collections::HashSet;
use std::sync::Mutex;
use suanli::graph::builder::GraphBuilder;
use suanli::kernels::ops::elementwise::{ElementwiseOp, UnaryOp};
use suanli::kernels::ops::linalg::LinalgOp;
use suanli::kernels::{Dim, Op};
use suanli::{DType, Session, Tensor};

fn model() -> suanli::Graph {
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::F32, vec![Dim::Known(64), Dim::Known(128)]);
    let w = b.constant(
        "w",
        Tensor::from_vec(vec![128, 128], (0..128 * 128).map(|i| (i % 7) as f32 * 0.01).collect()).unwrap(),
    );
    let m = b.op(Op::Linalg(LinalgOp::MatMul), &[x, w]);
    let y = b.op(Op::Elementwise(ElementwiseOp::Unary(UnaryOp::Relu)), &[m]);
    b.output(y, "y");
    b.build().unwrap()
}

#[test]
fn intra_threads_sets_the_threads_kernels_run_on() {
    for n in [1usize, 2, 3] {
        let s = Session::builder().intra_threads(n).build_from_graph(model()).unwrap();
        let cpu = s
            .devices()
            .iter()
            .find(|d| d.info().kind == "cpu")
            .expect("a CPU device");
        assert!(cpu.info().capabilities.contains(&format!("threads={n}")));
        // What a kernel launched by a run sees: the pool of the device's run scope.
        let mut seen = (0usize, HashSet::new());
        cpu.run_scope(&mut || {
            use rayon::prelude::*;
            let ids = Mutex::new(HashSet::new());
            // Enough slow items that every worker takes some.
            (0..64).into_par_iter().for_each(|_| {
                std::thread::sleep(std::time::Duration::from_millis(2));
                ids.lock().unwrap().insert(std::thread::current().id());
            });
            seen = (rayon::current_num_threads(), ids.into_inner().unwrap());
        });
        assert_eq!(seen.0, n, "rayon::current_num_threads() inside the run scope");
        assert_eq!(seen.1.len(), n, "distinct threads running a parallel loop");
        // A run through the scope gives the same values at every thread count.
        let x = Tensor::from_vec(vec![64, 128], (0..64 * 128).map(|i| (i % 13) as f32 - 6.0).collect()).unwrap();
        let out = s.run(&[("x", x.clone())]).unwrap();
        let one = Session::builder().threads(1).build_from_graph(model()).unwrap();
        assert_eq!(out[0].1, one.run(&[("x", x)]).unwrap()[0].1);
    }
}

#[test]
fn spinning_workers_give_the_same_results_under_concurrent_runs() {
    // Runs from several threads at once share the device's pool: each run's spinners must end
    // with it, and every run must give the single-threaded result, spinning or not.
    let x = Tensor::from_vec(vec![64, 128], (0..64 * 128).map(|i| (i % 11) as f32 - 5.0).collect()).unwrap();
    let want = Session::builder()
        .threads(1)
        .build_from_graph(model())
        .unwrap()
        .run(&[("x", x.clone())])
        .unwrap()[0]
        .1
        .clone();
    for spin in [true, false] {
        let s = Session::builder()
            .threads(2)
            .allow_spinning(spin)
            .build_from_graph(model())
            .unwrap();
        std::thread::scope(|sc| {
            for _ in 0..3 {
                sc.spawn(|| {
                    for _ in 0..50 {
                        let out = s.run(&[("x", x.clone())]).unwrap();
                        assert_eq!(out[0].1, want, "spin={spin}");
                    }
                });
            }
        });
    }
}
