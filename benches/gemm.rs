//! f32 GEMM throughput: suanli's sgemm (B plain and prepacked) against `matrixmultiply` and the
//! `gemm` crate, on square and transformer shapes, at 1 and 2 threads (rayon pools).
//! Throughput is in FLOPs (2·m·k·n), so criterion's "elem/s" reads as FLOP/s.
//!
//! `matrixmultiply` is built without its `threading` feature, so it is single-threaded in both
//! pools. Filter with e.g. `cargo bench --bench gemm -- 1024`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;
use suanli_kernels::ops::linalg::gemm::MatRef;
use suanli_kernels::ops::linalg::sgemm::{pack_b, sgemm, AOperand, BOperand, Epilogue};

const SHAPES: [(usize, usize, usize); 7] = [
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (1, 384, 1536),
    (16, 384, 1536),
    (128, 384, 1536),
];

fn data(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 9) % 1000) as f32 / 500.0 - 1.0)
        .collect()
}

fn bench_gemm(cr: &mut Criterion) {
    for (m, k, n) in SHAPES {
        let a = data(m * k, 1);
        let b = data(k * n, 2);
        let mut c = vec![0.0f32; m * n];
        let pb = pack_b(k, n, MatRef::rows(&b, 0, n)).expect("pack");
        let flops = 2 * (m * k * n) as u64;
        let mut g = cr.benchmark_group(format!("sgemm/{m}x{k}x{n}"));
        g.throughput(Throughput::Elements(flops));
        let big = flops > 1_000_000_000;
        g.sample_size(if big { 10 } else { 20 });
        g.warm_up_time(Duration::from_millis(if big { 1000 } else { 300 }));
        g.measurement_time(Duration::from_millis(if big { 3000 } else { 1000 }));
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let (ar, br) = (MatRef::rows(&a, 0, k), MatRef::rows(&b, 0, n));
            g.bench_function(BenchmarkId::new("suanli", format!("t{threads}")), |bch| {
                pool.install(|| {
                    bch.iter(|| {
                        sgemm(
                            m,
                            k,
                            n,
                            1.0,
                            AOperand::Plain(ar),
                            BOperand::Plain(br),
                            0.0,
                            &mut c,
                            n,
                            &Epilogue::none(),
                        )
                        .expect("sgemm")
                    })
                })
            });
            g.bench_function(BenchmarkId::new("suanli_packed_b", format!("t{threads}")), |bch| {
                pool.install(|| {
                    bch.iter(|| {
                        sgemm(
                            m,
                            k,
                            n,
                            1.0,
                            AOperand::Plain(ar),
                            BOperand::Packed(&pb),
                            0.0,
                            &mut c,
                            n,
                            &Epilogue::none(),
                        )
                        .expect("sgemm")
                    })
                })
            });
            if threads == 1 {
                // Single-threaded in both pools (no `threading` feature), so measured once.
                g.bench_function(BenchmarkId::new("matrixmultiply", "t1"), |bch| {
                    bch.iter(|| {
                        // SAFETY: a, b, c are contiguous row-major m×k, k×n, m×n buffers.
                        unsafe {
                            matrixmultiply::sgemm(
                                m,
                                k,
                                n,
                                1.0,
                                a.as_ptr(),
                                k as isize,
                                1,
                                b.as_ptr(),
                                n as isize,
                                1,
                                0.0,
                                c.as_mut_ptr(),
                                n as isize,
                                1,
                            )
                        }
                    })
                });
            }
            g.bench_function(BenchmarkId::new("gemm_crate", format!("t{threads}")), |bch| {
                pool.install(|| {
                    let par = if threads == 1 {
                        gemm::Parallelism::None
                    } else {
                        gemm::Parallelism::Rayon(threads)
                    };
                    bch.iter(|| {
                        // SAFETY: as above; `gemm` computes dst = alpha·dst + beta·lhs·rhs and with
                        // read_dst = false never reads dst.
                        unsafe {
                            gemm::gemm(
                                m,
                                n,
                                k,
                                c.as_mut_ptr(),
                                1,
                                n as isize,
                                false,
                                a.as_ptr(),
                                1,
                                k as isize,
                                b.as_ptr(),
                                1,
                                n as isize,
                                0.0f32,
                                1.0f32,
                                false,
                                false,
                                false,
                                par,
                            )
                        }
                    })
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench_gemm);
criterion_main!(benches);
