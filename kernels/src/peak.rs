//! A measured arithmetic peak: how many f32 FLOP/s one core sustains in a register-only
//! multiply-add loop with the widest vectors the CPU has. Profiles report kernels as a share of
//! this figure, so "% of peak" means the same thing on every machine.

use std::time::{Duration, Instant};

/// Independent accumulators: enough to cover the FMA latency on two pipes.
const ACC: usize = 12;

/// Measure one core's f32 multiply-add throughput in GFLOP/s for about `budget`.
pub fn core_gflops(budget: Duration) -> f64 {
    let mut best = 0.0f64;
    let start = Instant::now();
    let mut iters = 1 << 14;
    while start.elapsed() < budget {
        let t0 = Instant::now();
        let flops = run(iters);
        let s = t0.elapsed().as_secs_f64();
        if s > 0.0 {
            best = best.max(flops / s / 1e9);
        }
        if s < 0.005 {
            iters *= 2;
        }
    }
    best
}

fn run(iters: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature was detected on this CPU just above.
            return unsafe { x86::fma512(iters) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the features were detected on this CPU just above.
            return unsafe { x86::fma256(iters) };
        }
    }
    portable(iters)
}

/// Plain-Rust loop the compiler vectorises for the baseline target.
fn portable(iters: usize) -> f64 {
    let mut acc = [[1.0f32; 8]; ACC];
    let (a, b) = (std::hint::black_box(0.999_999f32), std::hint::black_box(1e-7f32));
    for _ in 0..iters {
        for r in acc.iter_mut() {
            for v in r.iter_mut() {
                *v = v.mul_add(a, b);
            }
        }
    }
    std::hint::black_box(&acc);
    (iters * ACC * 8 * 2) as f64
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::ACC;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma256(iters: usize) -> f64 {
        let a = _mm256_set1_ps(std::hint::black_box(0.999_999));
        let b = _mm256_set1_ps(std::hint::black_box(1e-7));
        let mut acc = [_mm256_set1_ps(1.0); ACC];
        for _ in 0..iters {
            for r in acc.iter_mut() {
                *r = _mm256_fmadd_ps(*r, a, b);
            }
        }
        std::hint::black_box(&acc);
        (iters * ACC * 8 * 2) as f64
    }

    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma512(iters: usize) -> f64 {
        let a = _mm512_set1_ps(std::hint::black_box(0.999_999));
        let b = _mm512_set1_ps(std::hint::black_box(1e-7));
        let mut acc = [_mm512_set1_ps(1.0); ACC];
        for _ in 0..iters {
            for r in acc.iter_mut() {
                *r = _mm512_fmadd_ps(*r, a, b);
            }
        }
        std::hint::black_box(&acc);
        (iters * ACC * 16 * 2) as f64
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_is_positive_and_plausible() {
        let g = super::core_gflops(std::time::Duration::from_millis(30));
        // Any CPU that runs this suite does between 0.1 and 10000 GFLOP/s per core.
        assert!(g > 0.1 && g < 10_000.0, "{g}");
    }
}
