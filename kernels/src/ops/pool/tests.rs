//! Pool tests: semantics, the f32 fast paths against the generic f64 path, errors.

use super::*;
use crate::ops::conv::geom::AutoPad;

fn win(k: &[usize], s: &[usize], pads: &[usize]) -> Window {
    Window {
        kernel_shape: Some(k.to_vec()),
        strides: s.to_vec(),
        dilations: vec![],
        pads: pads.to_vec(),
        auto_pad: AutoPad::NotSet,
    }
}

fn x44() -> Tensor {
    Tensor::from_vec(vec![1, 1, 4, 4], (1..=16).map(|v| v as f32).collect::<Vec<f32>>()).unwrap()
}

#[test]
fn maxpool_with_indices_and_ceil() {
    let op = PoolOp::MaxPool {
        window: win(&[3, 3], &[2, 2], &[]),
        ceil_mode: true,
        col_major: false,
        with_indices: true,
    };
    let out = op.run(&[Some(&x44())]).unwrap();
    assert_eq!(out[0].shape(), &[1, 1, 2, 2]);
    assert_eq!(out[0].as_slice::<f32>().unwrap(), &[11., 12., 15., 16.]);
    assert_eq!(out[1].as_slice::<i64>().unwrap(), &[10, 11, 14, 15]);
    let op = PoolOp::MaxPool {
        window: win(&[2, 2], &[2, 2], &[]),
        ceil_mode: false,
        col_major: true,
        with_indices: true,
    };
    let out = op.run(&[Some(&x44())]).unwrap();
    assert_eq!(out[1].as_slice::<i64>().unwrap(), &[5, 13, 7, 15]);
}

#[test]
fn averagepool_pads() {
    let op = PoolOp::AveragePool {
        window: win(&[3, 3], &[1, 1], &[1, 1, 1, 1]),
        ceil_mode: false,
        count_include_pad: false,
    };
    let y = op.run(&[Some(&x44())]).unwrap().remove(0);
    let v = y.as_slice::<f32>().unwrap();
    assert_eq!(v[0], (1. + 2. + 5. + 6.) / 4.);
    let op = PoolOp::AveragePool {
        window: win(&[3, 3], &[1, 1], &[1, 1, 1, 1]),
        ceil_mode: false,
        count_include_pad: true,
    };
    let y = op.run(&[Some(&x44())]).unwrap().remove(0);
    assert_eq!(y.as_slice::<f32>().unwrap()[0], (1. + 2. + 5. + 6.) / 9.);
}

#[test]
fn global_and_lp() {
    let y = PoolOp::GlobalAveragePool.run(&[Some(&x44())]).unwrap().remove(0);
    assert_eq!(y.shape(), &[1, 1, 1, 1]);
    assert_eq!(y.as_slice::<f32>().unwrap(), &[8.5]);
    let x = Tensor::from_vec(vec![1, 1, 2], vec![3.0f32, 4.0]).unwrap();
    let y = PoolOp::GlobalLpPool { p: 2.0 }.run(&[Some(&x)]).unwrap().remove(0);
    assert_eq!(y.as_slice::<f32>().unwrap(), &[5.0]);
}

#[test]
fn unpool_roundtrip_and_errors() {
    let x = Tensor::from_vec(vec![1, 1, 2, 2], vec![5.0f32, 6., 7., 8.]).unwrap();
    let i = Tensor::from_vec(vec![1, 1, 2, 2], vec![5i64, 7, 13, 15]).unwrap();
    let op = PoolOp::MaxUnpool {
        window: win(&[2, 2], &[2, 2], &[]),
    };
    let y = op.run(&[Some(&x), Some(&i)]).unwrap().remove(0);
    assert_eq!(y.shape(), &[1, 1, 4, 4]);
    assert_eq!(y.as_slice::<f32>().unwrap()[5], 5.0);
    let bad = Tensor::from_vec(vec![1, 1, 2, 2], vec![5i64, 7, 13, 99]).unwrap();
    assert!(op.run(&[Some(&x), Some(&bad)]).is_err());
    let flat = Tensor::from_vec(vec![4], vec![1.0f32; 4]).unwrap();
    assert!(PoolOp::GlobalMaxPool.run(&[Some(&flat)]).is_err());
}

/// Deterministic pseudo-random values in [-4, 4), with repeats so ties occur.
fn vals(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) % 64) as f32 / 8.0 - 4.0
        })
        .collect()
}

fn full_win(k: &[usize], s: &[usize], d: &[usize], pads: &[usize]) -> Window {
    Window {
        dilations: d.to_vec(),
        ..win(k, s, pads)
    }
}

/// Run `op` on `v` as f32 (fast path) and as f64 (generic path) and compare.
fn check_fast(op: &PoolOp, shape: &[usize], v: Vec<f32>) {
    let x32 = Tensor::from_vec(shape.to_vec(), v.clone()).unwrap();
    let x64 = Tensor::from_vec(shape.to_vec(), v.iter().map(|&a| a as f64).collect::<Vec<f64>>()).unwrap();
    let y32 = op.run(&[Some(&x32)]).unwrap().remove(0);
    let y64 = op.run(&[Some(&x64)]).unwrap().remove(0);
    assert_eq!(y32.shape(), y64.shape(), "{op:?} {shape:?}");
    let exact = matches!(op, PoolOp::MaxPool { .. } | PoolOp::GlobalMaxPool);
    let (a, b) = (y32.as_slice::<f32>().unwrap(), y64.as_slice::<f64>().unwrap());
    for (i, (&p, &q)) in a.iter().zip(b).enumerate() {
        let q = q as f32;
        let ok = if exact {
            p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan())
        } else {
            (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-6 + 1e-6 * q.abs()
        };
        assert!(ok, "{op:?} {shape:?} at {i}: fast {p} vs generic {q}");
    }
}

fn max_op(w: Window, ceil_mode: bool) -> PoolOp {
    PoolOp::MaxPool {
        window: w,
        ceil_mode,
        col_major: false,
        with_indices: false,
    }
}

fn avg_op(w: Window, ceil_mode: bool, count_include_pad: bool) -> PoolOp {
    PoolOp::AveragePool {
        window: w,
        ceil_mode,
        count_include_pad,
    }
}

#[test]
fn fast_windowed_pools_match_generic() {
    // (input shape, kernel, strides, dilations, pads)
    type Case<'a> = (&'a [usize], &'a [usize], &'a [usize], &'a [usize], &'a [usize]);
    let cases: &[Case] = &[
        (&[1, 3, 11, 13], &[3, 3], &[2, 2], &[], &[]),
        (&[2, 2, 9, 7], &[3, 3], &[1, 1], &[], &[1, 1, 1, 1]),
        (&[1, 2, 10, 9], &[2, 3], &[1, 2], &[2, 1], &[0, 1, 1, 0]),
        (&[1, 1, 3, 3], &[5, 5], &[1, 1], &[], &[2, 2, 2, 2]),
        (&[1, 1, 4, 5], &[2, 2], &[3, 3], &[], &[3, 3, 3, 3]),
        (&[2, 3, 1, 1], &[1, 1], &[1, 1], &[], &[]),
        (&[1, 2, 1, 1], &[3, 3], &[2, 2], &[], &[1, 1, 1, 1]),
        (&[1, 2, 8, 17], &[3, 3], &[3, 3], &[2, 2], &[2, 0, 1, 2]),
        (&[1, 2, 6, 6], &[2, 2], &[2, 2], &[], &[]),
        (&[1, 2, 15], &[3], &[2], &[], &[1, 1]),
        (&[1, 1, 12], &[4], &[3], &[2], &[0, 3]),
        (&[4, 16, 40, 40], &[3, 3], &[1, 1], &[], &[1, 1, 1, 1]),
        (&[1, 8, 33, 31], &[3, 3], &[2, 2], &[], &[0, 0, 1, 1]),
        // Windows covering the whole plane (the average is the global mean).
        (&[2, 40, 7, 7], &[7, 7], &[1, 1], &[], &[]),
        (&[1, 3, 5, 6], &[5, 6], &[2, 2], &[], &[]),
    ];
    for (i, &(shape, k, s, d, p)) in cases.iter().enumerate() {
        let n: usize = shape.iter().product();
        for ceil in [false, true] {
            let w = full_win(k, s, d, p);
            check_fast(&max_op(w.clone(), ceil), shape, vals(n, i as u64));
            for inc in [false, true] {
                check_fast(&avg_op(w.clone(), ceil, inc), shape, vals(n, i as u64 + 100));
            }
        }
    }
}

#[test]
fn fast_maxpool_keeps_nan_and_zero_sign_rules() {
    let mut v = vals(2 * 7 * 9, 7);
    for (i, x) in v.iter_mut().enumerate() {
        *x = match i % 11 {
            0 => f32::NAN,
            3 => -0.0,
            5 => 0.0,
            7 => f32::NEG_INFINITY,
            _ => *x - 8.0,
        };
    }
    for (k, s, p) in [([3, 3], [1, 1], [1, 1, 1, 1]), ([2, 2], [2, 2], [0, 0, 1, 1])] {
        check_fast(&max_op(win(&k, &s, &p), true), &[1, 2, 7, 9], v.clone());
    }
    check_fast(&PoolOp::GlobalMaxPool, &[1, 2, 7, 9], v);
}

#[test]
fn fast_global_pools_match_generic() {
    for (i, shape) in [
        &[2, 3, 5, 7][..],
        &[1, 4, 1, 1],
        &[1, 2, 17],
        &[2, 40, 30, 30],
        &[1, 1, 2, 3, 4],
    ]
    .iter()
    .enumerate()
    {
        let n: usize = shape.iter().product();
        check_fast(&PoolOp::GlobalMaxPool, shape, vals(n, i as u64));
        check_fast(&PoolOp::GlobalAveragePool, shape, vals(n, i as u64 + 9));
    }
}

#[test]
fn fast_pool_errors() {
    let x = x44();
    let no_kernel = Window {
        kernel_shape: None,
        ..win(&[1, 1], &[], &[])
    };
    assert!(max_op(no_kernel, false).run(&[Some(&x)]).is_err());
    assert!(avg_op(win(&[5, 5], &[1, 1], &[]), false, false)
        .run(&[Some(&x)])
        .is_err());
    assert!(avg_op(win(&[2, 2], &[1, 1], &[1, 1]), false, false)
        .run(&[Some(&x)])
        .is_err());
    let flat = Tensor::from_vec(vec![4, 4], vec![1.0f32; 16]).unwrap();
    assert!(max_op(win(&[2], &[1], &[]), false).run(&[Some(&flat)]).is_err());
    assert!(PoolOp::GlobalAveragePool.run(&[Some(&flat)]).is_err());
}

#[test]
fn separable_pools_match_generic_on_odd_widths() {
    // Widths around the 8- and 16-column vector blocks, every stride up to 3, dilation 1 and 2,
    // asymmetric pads, ceil mode on and off.
    let mut seed = 200;
    for w in [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 47] {
        for (k, s, d, p) in [
            ([3, 3], [2, 2], [1, 1], [0, 0, 0, 0]),
            ([3, 3], [2, 2], [1, 1], [1, 1, 1, 1]),
            ([2, 2], [2, 2], [1, 1], [0, 0, 0, 1]),
            ([1, 4], [2, 2], [1, 1], [0, 1, 0, 2]),
            ([3, 2], [1, 1], [1, 1], [1, 0, 1, 1]),
            ([2, 3], [2, 2], [2, 2], [0, 2, 1, 1]),
            ([3, 3], [3, 3], [1, 2], [1, 1, 0, 2]),
            ([1, 4], [1, 2], [1, 1], [0, 1, 0, 2]),
        ] {
            if w + p[1] + p[3] < (k[1] - 1) * d[1] + 1 {
                continue;
            }
            let shape = [1, 2, 6, w];
            seed += 1;
            for ceil in [false, true] {
                let win = full_win(&k, &s, &d, &p);
                check_fast(&max_op(win.clone(), ceil), &shape, vals(12 * w, seed));
                for inc in [false, true] {
                    check_fast(&avg_op(win.clone(), ceil, inc), &shape, vals(12 * w, seed + 1000));
                }
            }
        }
    }
}

#[test]
fn separable_maxpool_falls_back_exactly_on_nan_and_negative_zero() {
    // Wide rows so the vector blocks see the special values; one special value per plane row
    // at different positions: first window row, later window rows, padding borders.
    let (h, w) = (9, 37);
    for (special, row, col) in [
        (f32::NAN, 0, 0),
        (f32::NAN, 0, 17),
        (f32::NAN, 4, 36),
        (f32::NAN, 3, 8),
        (-0.0, 2, 9),
        (-0.0, 0, 16),
    ] {
        // Values in [-4, 0] so zeros are maxima and -0 / +0 ties decide the sign.
        let mut v: Vec<f32> = vals(2 * h * w, 31)
            .iter()
            .map(|&x| if x == 0.0 { 0.0 } else { -x.abs() })
            .collect();
        v[row * w + col] = special;
        v[h * w + (row + 1) * w + col] = special;
        for (k, s, p) in [
            ([3, 3], [2, 2], [0, 0, 0, 0]),
            ([3, 3], [1, 1], [1, 1, 1, 1]),
            ([2, 3], [3, 2], [1, 0, 0, 1]),
        ] {
            check_fast(&max_op(win(&k, &s, &p), true), &[1, 2, h, w], v.clone());
        }
    }
}

/// The AVX-512 register kernel (where the CPU has it) and the separable kernel agree: bit for
/// bit on max (both follow the generic tap order), to rounding on averages, over widths around
/// the 16-lane blocks, both strides and window widths it takes, pads, NaNs and signed zeros.
#[test]
fn register_and_separable_kernels_agree() {
    use crate::ops::conv::geom::AutoPad;
    let mut seed = 500;
    for w in [2, 5, 15, 16, 17, 31, 32, 33, 50, 111] {
        for (k, s, p) in [(3, 2, 0), (3, 2, 1), (2, 2, 0), (3, 1, 1), (2, 1, 0), (3, 1, 0)] {
            if w + 2 * p < k {
                continue;
            }
            seed += 1;
            let (c, h) = (3, 7);
            let mut x = vals(c * h * w, seed);
            // NaNs and -0.0 at a few places, including the first window row and last column.
            for (i, v) in x.iter_mut().enumerate() {
                match i % 23 {
                    4 => *v = f32::NAN,
                    9 | 10 => *v = -0.0,
                    11 => *v = 0.0,
                    _ => {}
                }
            }
            let g = Window {
                auto_pad: AutoPad::NotSet,
                ..win(&[k, k], &[s, s], &[p; 4])
            }
            .resolve("MaxPool", &[h, w], &[k, k], false)
            .unwrap();
            for kind in [
                fast::FastKind::Max,
                fast::FastKind::Avg { include_pad: false },
                fast::FastKind::Avg { include_pad: true },
            ] {
                let a = fast::pool2d(&x, c, &g, kind);
                let b = fast::pool2d_separable(&x, c, &g, kind);
                for (i, (&u, &v)) in a.iter().zip(&b).enumerate() {
                    let ok = if kind == fast::FastKind::Max {
                        u.to_bits() == v.to_bits() || (u.is_nan() && v.is_nan())
                    } else {
                        (u.is_nan() && v.is_nan()) || (u - v).abs() <= 1e-6 + 1e-6 * v.abs()
                    };
                    assert!(ok, "w {w} k {k} s {s} p {p} {kind:?} at {i}: {u} vs {v}");
                }
            }
        }
    }
}

/// Small planes go through the eight-planes-as-lanes kernel (with AVX2) in groups of eight,
/// the remaining planes one at a time; both agree with the generic path, NaNs and signed
/// zeros included, over strides, dilations, pads, ceil mode and empty windows.
#[test]
fn small_planes_in_lane_groups_match_generic() {
    let mut seed = 900;
    for (h, w) in [(7, 7), (13, 13), (5, 9), (1, 1), (14, 3), (9, 32)] {
        for (k, s, d, p) in [
            ([3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
            ([3, 3], [2, 2], [1, 1], [0, 0, 0, 0]),
            ([2, 2], [2, 2], [1, 1], [0, 0, 1, 1]),
            ([3, 2], [2, 1], [2, 1], [2, 0, 1, 1]),
            ([3, 3], [3, 3], [1, 1], [2, 2, 2, 2]),
        ] {
            if h + p[0] + p[2] < (k[0] - 1) * d[0] + 1 || w + p[1] + p[3] < (k[1] - 1) * d[1] + 1 {
                continue;
            }
            for planes in [8, 19] {
                seed += 1;
                let shape = [1, planes, h, w];
                let n = planes * h * w;
                let mut v = vals(n, seed);
                for (i, x) in v.iter_mut().enumerate() {
                    match i % 17 {
                        3 => *x = f32::NAN,
                        6 | 7 => *x = -0.0,
                        8 => *x = 0.0,
                        _ => {}
                    }
                }
                for ceil in [false, true] {
                    let win = full_win(&k, &s, &d, &p);
                    check_fast(&max_op(win.clone(), ceil), &shape, v.clone());
                    for inc in [false, true] {
                        check_fast(&avg_op(win.clone(), ceil, inc), &shape, vals(n, seed + 1000));
                    }
                }
            }
        }
    }
}

/// 3×3 max pools with output rows of one or two vectors (the AVX-512 small-plane kernel) agree
/// bit for bit with the generic path at widths around the vector edges, both strides, padding
/// zero and one, ceil mode on and off, with NaNs and signed zeros (first taps included).
#[test]
fn small_plane_max_pools_match_generic_at_every_width() {
    let mut seed = 5000;
    for w in [1, 2, 3, 15, 16, 17, 18, 31, 32, 33, 34, 35, 63, 64, 65] {
        for (s, p) in [(1, 0), (1, 1), (2, 0), (2, 1)] {
            for h in [1, 4, 9] {
                if h + 2 * p < 3 || w + 2 * p < 3 {
                    continue;
                }
                seed += 1;
                let shape = [1, 3, h, w];
                let mut v = vals(3 * h * w, seed);
                for (i, x) in v.iter_mut().enumerate() {
                    match (i + seed as usize) % 13 {
                        0 => *x = f32::NAN,
                        4 | 5 => *x = -0.0,
                        6 => *x = 0.0,
                        _ => {}
                    }
                }
                for ceil in [false, true] {
                    let win = full_win(&[3, 3], &[s, s], &[1, 1], &[p; 4]);
                    check_fast(&max_op(win, ceil), &shape, v.clone());
                }
            }
        }
    }
}

/// Timing of the exact row, separable and chosen (the register kernel on AVX-512) paths on the
/// CNN benchmark shapes:
/// `cargo test --release -p suanli-kernels --lib pool_timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn pool_timing() {
    use std::time::Instant;
    // (name, [C, H, W], kernel, stride, pads, kind)
    let cases: &[(&str, [usize; 3], usize, usize, usize, fast::FastKind)] = &[
        ("squeezenet max 3x3/2", [96, 109, 109], 3, 2, 0, fast::FastKind::Max),
        ("squeezenet max 3x3/2", [256, 27, 27], 3, 2, 0, fast::FastKind::Max),
        ("inception max 3x3/1 p1", [832, 7, 7], 3, 1, 1, fast::FastKind::Max),
        ("inception max 3x3/1 p1", [480, 14, 14], 3, 1, 1, fast::FastKind::Max),
        ("inception max 3x3/1 p1", [192, 28, 28], 3, 1, 1, fast::FastKind::Max),
        ("squeezenet max 3x3/2", [128, 55, 55], 3, 2, 0, fast::FastKind::Max),
        ("densenet max 3x3/2 p1", [64, 112, 112], 3, 2, 1, fast::FastKind::Max),
        (
            "densenet avg 2x2/2",
            [128, 56, 56],
            2,
            2,
            0,
            fast::FastKind::Avg { include_pad: false },
        ),
        (
            "shufflenet avg 3x3/2 p1",
            [240, 28, 28],
            3,
            2,
            1,
            fast::FastKind::Avg { include_pad: false },
        ),
    ];
    // One thread, as `suanli bench --threads 1`.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    for &(name, [c, h, w], k, s, p, kind) in cases {
        let x = vals(c * h * w, 5);
        let g = win(&[k, k], &[s, s], &[p; 4])
            .resolve("MaxPool", &[h, w], &[k, k], false)
            .unwrap();
        let time = |f: &dyn Fn() -> Vec<f32>| {
            let mut best = f64::MAX;
            for _ in 0..15 {
                let t = Instant::now();
                std::hint::black_box(f());
                best = best.min(t.elapsed().as_secs_f64());
            }
            best * 1e3
        };
        let (mut a, mut b, mut d) = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..3 {
            a = a.min(time(&|| fast::pool2d_exact(&x, c, &g, kind)));
            b = b.min(time(&|| fast::pool2d_separable(&x, c, &g, kind)));
            d = d.min(pool.install(|| time(&|| fast::pool2d(&x, c, &g, kind))));
        }
        let (e, f) = (fast::pool2d_exact(&x, c, &g, kind), fast::pool2d(&x, c, &g, kind));
        assert!(e.iter().zip(&f).all(|(p, q)| (p - q).abs() <= 1e-5), "{name}");
        println!("{name} {c}x{h}x{w}: exact rows {a:.3} ms, separable {b:.3} ms, chosen {d:.3} ms");
    }
}
