//! sgemm against a naive f64 reference: shapes, layouts, alpha / beta, epilogues, packed
//! operands, thread counts, every available ISA, and the error cases.

use super::*;

/// A multi-tap case: (rows of A or columns of B, depth, output rows, output columns, extra
/// row step, taps as (dy, dx)).
type TapCase = (usize, usize, usize, usize, usize, &'static [(usize, usize)]);

/// The image layout of a [`TapCase`]: rows `cols + 3` wide (plus `extra` between output rows),
/// planes with three spare rows, and each tap `(dy, dx)`'s offset. Returns (row step, plane,
/// offsets).
fn tap_layout(rows: usize, cols: usize, extra: usize, taps: &[(usize, usize)]) -> (usize, usize, Vec<usize>) {
    let wp = cols + 3;
    let row_step = wp + extra;
    let plane = (rows + 3) * row_step + wp;
    (row_step, plane, taps.iter().map(|&(dy, dx)| dy * wp + dx).collect())
}

/// xorshift64* in [-1, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn f(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f()).collect()
    }
}

/// Storage of an `r × c` operand in one of four layouts; returns (data, off, rs, cs).
fn layout(rng: &mut Rng, r: usize, c: usize, kind: usize) -> (Vec<f32>, usize, usize, usize) {
    match kind {
        // row-major
        0 => (rng.vec(r * c), 0, c, 1),
        // transposed storage (column-major)
        1 => (rng.vec(r * c), 0, 1, r),
        // padded rows with an offset
        2 => (rng.vec(3 + r * (c + 5)), 3, c + 5, 1),
        // fully strided
        _ => (rng.vec(1 + r * (2 * c + 1)), 1, 2 * c + 1, 2),
    }
}

fn ref_act(act: Activation, x: f64) -> f64 {
    match act {
        Activation::None => x,
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu(a) => {
            if x > 0.0 {
                x
            } else {
                a as f64 * x
            }
        }
        Activation::Clip(lo, hi) => x.max(lo as f64).min(hi as f64),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Tanh => x.tanh(),
        Activation::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
        Activation::Silu => x / (1.0 + (-x).exp()),
    }
}

const ACTS: [Activation; 8] = [
    Activation::None,
    Activation::Relu,
    Activation::LeakyRelu(0.1),
    Activation::Clip(-0.5, 0.75),
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Gelu,
    Activation::Silu,
];

/// One randomized case: builds operands, runs `sgemm_isa` and compares with the f64 reference.
#[allow(clippy::too_many_arguments)]
fn case(rng: &mut Rng, isa: Isa, m: usize, k: usize, n: usize, pack_a_too: bool, pack_b_too: bool, bias_kind: usize) {
    let (la, lb) = (rng.below(4), rng.below(4));
    let (ad, ao, ars, acs) = layout(rng, m, k, la);
    let (bd, bo, brs, bcs) = layout(rng, k, n, lb);
    let a = MatRef {
        data: &ad,
        off: ao,
        rs: ars,
        cs: acs,
    };
    let b = MatRef {
        data: &bd,
        off: bo,
        rs: brs,
        cs: bcs,
    };
    let alpha = [1.0, 0.5, -2.0][rng.below(3)];
    let beta = [0.0, 1.0, -0.75][rng.below(3)];
    let ldc = n + rng.below(3);
    let mut c: Vec<f32> = rng.vec(m * ldc);
    if beta == 0.0 {
        c.iter_mut().step_by(3).for_each(|x| *x = f32::NAN);
    }
    let c0 = c.clone();
    let bias_v = rng.vec(m.max(n));
    let bias = match bias_kind {
        0 => Bias::None,
        1 => Bias::Row(&bias_v[..m]),
        _ => Bias::Col(&bias_v[..n]),
    };
    let res_rs = n + 1;
    let res_v = rng.vec(m * res_rs);
    let residual = if rng.below(2) == 0 {
        Some((&res_v[..], res_rs))
    } else {
        None
    };
    let act = ACTS[rng.below(ACTS.len())];
    let epi = Epilogue { bias, residual, act };
    let pa = pack_a_isa(isa, m, k, a).unwrap();
    let pb = pack_b_isa(isa, k, n, b).unwrap();
    let aop = if pack_a_too {
        AOperand::Packed(&pa)
    } else {
        AOperand::Plain(a)
    };
    let bop = if pack_b_too {
        BOperand::Packed(&pb)
    } else {
        BOperand::Plain(b)
    };
    sgemm_isa(isa, m, k, n, alpha, aop, bop, beta, &mut c, ldc, &epi).unwrap();
    for i in 0..m {
        for j in 0..ldc {
            let got = c[i * ldc + j];
            if j >= n {
                assert!(
                    got.to_bits() == c0[i * ldc + j].to_bits(),
                    "padding touched at ({i},{j})"
                );
                continue;
            }
            let (mut s, mut mag) = (0f64, 0f64);
            for p in 0..k {
                let x = ad[ao + i * ars + p * acs] as f64 * bd[bo + p * brs + j * bcs] as f64;
                s += x;
                mag += x.abs();
            }
            let mut v = alpha as f64 * s;
            mag *= (alpha as f64).abs();
            if beta != 0.0 {
                v += beta as f64 * c0[i * ldc + j] as f64;
                mag += (beta as f64 * c0[i * ldc + j] as f64).abs();
            }
            let bb = match bias {
                Bias::None => 0.0,
                Bias::Row(v) => v[i] as f64,
                Bias::Col(v) => v[j] as f64,
            };
            let rr = residual.map_or(0.0, |(r, rs)| r[i * rs + j] as f64);
            v += bb + rr;
            mag += bb.abs() + rr.abs() + 1.0;
            let want = ref_act(act, v);
            let tol = 2e-6 * mag * (1.0 + (k as f64).sqrt());
            assert!(
                (got as f64 - want).abs() <= tol,
                "{isa:?} {m}x{k}x{n} pa {pack_a_too} pb {pack_b_too} alpha {alpha} beta {beta} {act:?} \
                 at ({i},{j}): got {got}, want {want}"
            );
        }
    }
}

/// Run `f` inside a rayon pool of `threads` threads.
fn in_pool(threads: usize, f: impl FnOnce() + Send) {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

const DIMS: [usize; 16] = [1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 64, 65, 127, 129, 300];

#[test]
fn random_shapes_every_isa_and_thread_count() {
    for isa in Isa::available() {
        for threads in [1, 2] {
            in_pool(threads, || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ threads as u64);
                for _ in 0..70 {
                    let (m, k, n) = (DIMS[rng.below(16)], DIMS[rng.below(16)], DIMS[rng.below(16)]);
                    let (pa, pb, bk) = (rng.below(3) == 0, rng.below(3) == 0, rng.below(3));
                    case(&mut rng, isa, m, k, n, pa, pb, bk);
                }
            });
        }
    }
}

#[test]
fn blocking_edges_every_isa() {
    // K beyond one KC block, M beyond one MC block, N beyond one NC block, skinny rows; one row
    // block over several K blocks with a partial last panel (B read in place).
    let shapes = [
        (300, 600, 70),
        (40, 600, 100),
        (200, 257, 129),
        (17, 5, 4200),
        (16, 384, 1536),
        (1, 384, 1536),
        (6, 513, 33),
        (13, 31, 17),
        (150, 3, 300),
    ];
    for isa in Isa::available() {
        for threads in [1, 2] {
            in_pool(threads, || {
                let mut rng = Rng(7 + threads as u64);
                for &(m, k, n) in &shapes {
                    for (pa, pb) in [(false, false), (true, true), (false, true)] {
                        let bk = rng.below(3);
                        case(&mut rng, isa, m, k, n, pa, pb, bk);
                    }
                }
            });
        }
    }
}

#[test]
fn every_activation_and_bias_kind() {
    let mut rng = Rng(99);
    for isa in Isa::available() {
        for &act in &ACTS {
            for bias_kind in 0..3 {
                for (m, k, n) in [(5, 7, 19), (40, 33, 37)] {
                    let (ad, bd) = (rng.vec(m * k), rng.vec(k * n));
                    let bias_v = rng.vec(m.max(n));
                    let bias = match bias_kind {
                        0 => Bias::None,
                        1 => Bias::Row(&bias_v[..m]),
                        _ => Bias::Col(&bias_v[..n]),
                    };
                    let res = rng.vec(m * n);
                    let epi = Epilogue {
                        bias,
                        residual: Some((&res, n)),
                        act,
                    };
                    let mut c = vec![f32::NAN; m * n];
                    let (a, b) = (MatRef::rows(&ad, 0, k), MatRef::rows(&bd, 0, n));
                    sgemm_isa(
                        isa,
                        m,
                        k,
                        n,
                        1.0,
                        AOperand::Plain(a),
                        BOperand::Plain(b),
                        0.0,
                        &mut c,
                        n,
                        &epi,
                    )
                    .unwrap();
                    for i in 0..m {
                        for j in 0..n {
                            let mut s: f64 = (0..k).map(|p| ad[i * k + p] as f64 * bd[p * n + j] as f64).sum();
                            s += match bias {
                                Bias::None => 0.0,
                                Bias::Row(v) => v[i] as f64,
                                Bias::Col(v) => v[j] as f64,
                            };
                            s += res[i * n + j] as f64;
                            let want = ref_act(act, s);
                            let got = c[i * n + j] as f64;
                            assert!(
                                (got - want).abs() < 1e-4,
                                "{isa:?} {act:?} {bias_kind} ({i},{j}) {got} {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn zero_k_applies_epilogue_only() {
    let mut c = vec![1.0f32, 2.0, 3.0, 4.0];
    let bias = [10.0f32, 20.0];
    let epi = Epilogue {
        bias: Bias::Col(&bias),
        residual: None,
        act: Activation::Relu,
    };
    let a = MatRef::rows(&[] as &[f32], 0, 0);
    let b = MatRef::rows(&[] as &[f32], 0, 2);
    sgemm(
        2,
        0,
        2,
        1.0,
        AOperand::Plain(a),
        BOperand::Plain(b),
        -1.0,
        &mut c,
        2,
        &epi,
    )
    .unwrap();
    assert_eq!(c, vec![9.0, 18.0, 7.0, 16.0]);
}

#[test]
fn packed_for_another_isa_still_works() {
    let mut rng = Rng(5);
    let (m, k, n) = (37, 41, 43);
    let (ad, bd) = (rng.vec(m * k), rng.vec(k * n));
    let (a, b) = (MatRef::rows(&ad, 0, k), MatRef::rows(&bd, 0, n));
    let pa = pack_a_isa(Isa::Generic, m, k, a).unwrap();
    let pb = pack_b_isa(Isa::Generic, k, n, b).unwrap();
    let mut want = vec![0.0; m * n];
    let mut got = vec![0.0; m * n];
    let e = Epilogue::none();
    sgemm_isa(
        Isa::Generic,
        m,
        k,
        n,
        1.0,
        AOperand::Plain(a),
        BOperand::Plain(b),
        0.0,
        &mut want,
        n,
        &e,
    )
    .unwrap();
    for isa in Isa::available() {
        sgemm_isa(
            isa,
            m,
            k,
            n,
            1.0,
            AOperand::Packed(&pa),
            BOperand::Packed(&pb),
            0.0,
            &mut got,
            n,
            &e,
        )
        .unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{isa:?}");
        }
    }
}

#[test]
fn nested_parallel_calls_share_scratch_safely() {
    use rayon::prelude::*;
    let mut rng = Rng(11);
    let (m, k, n) = (64, 96, 80);
    let (ad, bd) = (rng.vec(m * k), rng.vec(k * n));
    let (a, b) = (MatRef::rows(&ad, 0, k), MatRef::rows(&bd, 0, n));
    let mut want = vec![0.0; m * n];
    let e = Epilogue::none();
    sgemm(
        m,
        k,
        n,
        1.0,
        AOperand::Plain(a),
        BOperand::Plain(b),
        0.0,
        &mut want,
        n,
        &e,
    )
    .unwrap();
    in_pool(2, || {
        let outs: Vec<Vec<f32>> = (0..8)
            .into_par_iter()
            .map(|_| {
                let mut c = vec![0.0; m * n];
                sgemm(m, k, n, 1.0, AOperand::Plain(a), BOperand::Plain(b), 0.0, &mut c, n, &e).unwrap();
                c
            })
            .collect();
        for c in outs {
            assert_eq!(c, want);
        }
    });
}

#[test]
fn gemm_elem_f32_uses_sgemm() {
    use super::super::gemm::GemmElem;
    let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let b = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0];
    let mut c = [0.0f32; 4];
    f32::gemm(
        2,
        3,
        2,
        1.0,
        MatRef::rows(&a, 0, 3),
        MatRef::rows(&b, 0, 2),
        0.0,
        &mut c,
        2,
    )
    .unwrap();
    assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
}

#[test]
fn bad_shapes_are_errors() {
    let d = vec![0.0f32; 12];
    let a = MatRef::rows(&d, 0, 4);
    let b = MatRef::rows(&d, 0, 3);
    let e = Epilogue::none();
    let mut c = vec![0.0f32; 9];
    let ok =
        |c: &mut [f32], a: AOperand, b: BOperand, ldc: usize, e: &Epilogue| sgemm(3, 4, 3, 1.0, a, b, 0.0, c, ldc, e);
    assert!(ok(&mut c, AOperand::Plain(a), BOperand::Plain(b), 3, &e).is_ok());
    // Out-of-bounds views.
    assert!(ok(
        &mut c,
        AOperand::Plain(MatRef::rows(&d, 1, 4)),
        BOperand::Plain(b),
        3,
        &e
    )
    .is_err());
    assert!(ok(
        &mut c,
        AOperand::Plain(a),
        BOperand::Plain(MatRef {
            data: &d,
            off: 0,
            rs: 4,
            cs: 1
        }),
        3,
        &e
    )
    .is_err());
    assert!(ok(&mut c[..8], AOperand::Plain(a), BOperand::Plain(b), 3, &e).is_err());
    assert!(ok(&mut c, AOperand::Plain(a), BOperand::Plain(b), 2, &e).is_err());
    // Wrong packed shapes.
    let pa = pack_a(4, 3, MatRef::rows(&d, 0, 3)).unwrap();
    let pb = pack_b(3, 4, MatRef::rows(&d, 0, 4)).unwrap();
    assert!(ok(&mut c, AOperand::Packed(&pa), BOperand::Plain(b), 3, &e).is_err());
    assert!(ok(&mut c, AOperand::Plain(a), BOperand::Packed(&pb), 3, &e).is_err());
    assert!(pack_a(5, 3, MatRef::rows(&d, 0, 3)).is_err());
    assert!(pack_b(3, 5, MatRef::rows(&d, 0, 4)).is_err());
    // Short bias / residual.
    let short = [0.0f32; 2];
    for bias in [Bias::Row(&short), Bias::Col(&short)] {
        let e = Epilogue {
            bias,
            residual: None,
            act: Activation::None,
        };
        assert!(ok(&mut c, AOperand::Plain(a), BOperand::Plain(b), 3, &e).is_err());
    }
    let e = Epilogue {
        bias: Bias::None,
        residual: Some((&d[..8], 3)),
        act: Activation::None,
    };
    assert!(ok(&mut c, AOperand::Plain(a), BOperand::Plain(b), 3, &e).is_err());
    // An ISA this CPU lacks.
    for isa in [Isa::Avx2Fma, Isa::Avx512] {
        let r = sgemm_isa(
            isa,
            3,
            4,
            3,
            1.0,
            AOperand::Plain(a),
            BOperand::Plain(b),
            0.0,
            &mut c,
            3,
            &Epilogue::none(),
        );
        assert_eq!(r.is_ok(), Isa::available().contains(&isa));
    }
}

/// The multi-tap product against an f64 reference over shifted windows of one image: partial
/// micro-tiles in both directions, several row steps, bias / residual / activation, on one and
/// two threads; then the size checks.
#[test]
fn taps_match_a_reference_over_shifted_windows() {
    let mut rng = Rng(0x7a95);
    // (m, k, rows, cols, row_step extra, taps as (dy, dx))
    let cases: &[TapCase] = &[
        (7, 3, 4, 19, 2, &[(0, 0), (0, 1), (1, 0), (1, 2)]),
        (32, 16, 3, 33, 0, &[(0, 0), (2, 2)]),
        (13, 5, 2, 8, 5, &[(1, 1)]),
        // Deep enough for several passes over the taps (C accumulated between them).
        (10, 150, 2, 21, 3, &[(0, 0), (0, 1), (1, 0), (1, 1), (0, 2)]),
    ];
    // Every ISA (each has its own row and column blocking).
    for isa in Isa::available() {
        for &(m, k, rows, cols, extra, taps) in cases {
            let (row_step, plane, offsets) = tap_layout(rows, cols, extra, taps);
            let img = rng.vec(k * plane + TapGrid::slack());
            let w = rng.vec(m * taps.len() * k);
            let bias = rng.vec(m);
            let n = rows * cols;
            let ldc = n + 3;
            let res = rng.vec(m * ldc);
            let a = pack_a_isa(isa, m, taps.len() * k, MatRef::rows(&w, 0, taps.len() * k)).unwrap();
            let grid = TapGrid {
                data: &img,
                plane,
                rows,
                cols,
                row_step,
                offsets: &offsets,
            };
            for (threads, act) in [(1, Activation::Relu), (2, Activation::Tanh)] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let mut c = vec![f32::NAN; m * ldc];
                let epi = Epilogue {
                    bias: Bias::Row(&bias),
                    residual: Some((&res, ldc)),
                    act,
                };
                pool.install(|| sgemm_taps_isa(isa, m, k, &a, &grid, &mut c, ldc, &epi))
                    .unwrap();
                for i in 0..m {
                    for r in 0..rows {
                        for j in 0..cols {
                            let mut s = bias[i] as f64 + res[i * ldc + r * cols + j] as f64;
                            for (t, off) in offsets.iter().enumerate() {
                                for q in 0..k {
                                    let x = img[off + r * row_step + q * plane + j] as f64;
                                    s += w[i * taps.len() * k + t * k + q] as f64 * x;
                                }
                            }
                            let want = ref_act(act, s);
                            let got = c[i * ldc + r * cols + j] as f64;
                            assert!(
                                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                                "m{m} k{k} {rows}x{cols} [{i}, {r}, {j}]: {got} vs {want}"
                            );
                        }
                    }
                }
                // Columns past n in each row of C stay untouched.
                assert!(c[n..ldc].iter().all(|x| x.is_nan()));
            }
            // The exact extent works, one float less is a typed error; so is a left operand of the
            // wrong depth.
            let nr = arch_of(isa).unwrap().nr;
            let need = offsets.iter().max().unwrap() + (rows - 1) * row_step + (k - 1) * plane + cols.div_ceil(nr) * nr;
            let mut c = vec![0.0; m * ldc];
            for (len, ok) in [(need, true), (need - 1, false)] {
                let g = TapGrid {
                    data: &img[..len],
                    ..grid
                };
                assert_eq!(
                    sgemm_taps_isa(isa, m, k, &a, &g, &mut c, ldc, &Epilogue::none()).is_ok(),
                    ok,
                    "{len}"
                );
            }
            assert!(sgemm_taps_isa(isa, m, k + 1, &a, &grid, &mut c, ldc, &Epilogue::none()).is_err());
        }
    }
}

/// The positions-as-rows multi-tap product against a direct sum: rows that split into tiles of
/// every height (1, 3, 7 = one tile, 14 = 7 + 7, 25 = 9 + 8 + 8, …), several taps, depths across
/// many steps, column bias / residual / activation, one and two threads, every available ISA;
/// then the extent checks (the exact extent works, one float less is a typed error).
#[test]
fn taps_t_match_a_reference_every_isa() {
    let mut rng = Rng(0x51ab);
    // (n, k, rows, cols, row_step extra, taps as (dy, dx))
    let cases: &[TapCase] = &[
        (5, 3, 2, 1, 0, &[(0, 0), (1, 1)]),
        (40, 7, 3, 3, 1, &[(0, 0), (0, 2), (2, 1)]),
        (33, 16, 2, 7, 2, &[(0, 0), (0, 1), (1, 0), (1, 2)]),
        (
            64,
            40,
            2,
            14,
            2,
            &[(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)],
        ),
        (17, 130, 2, 25, 0, &[(1, 1), (2, 0)]),
        (70, 9, 1, 49, 0, &[(0, 0)]),
    ];
    for isa in Isa::available() {
        for &(n, k, rows, cols, extra, taps) in cases {
            let (row_step, plane, offsets) = tap_layout(rows, cols, extra, taps);
            let img = rng.vec(k * plane + 16);
            let kt = taps.len() * k;
            let w = rng.vec(kt * n);
            let bias = rng.vec(n);
            let m = rows * cols;
            let ldc = n + 3;
            let res = rng.vec(m * ldc);
            let b = pack_b_isa(isa, kt, n, MatRef::rows(&w, 0, n)).unwrap();
            let grid = TapGrid {
                data: &img,
                plane,
                rows,
                cols,
                row_step,
                offsets: &offsets,
            };
            for (threads, act) in [(1, Activation::Relu), (2, Activation::Tanh)] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let mut c = vec![f32::NAN; m * ldc];
                let epi = Epilogue {
                    bias: Bias::Col(&bias),
                    residual: Some((&res, ldc)),
                    act,
                };
                pool.install(|| sgemm_taps_t_isa(isa, n, k, &b, &grid, &mut c, ldc, &epi))
                    .unwrap();
                for r in 0..rows {
                    for j in 0..cols {
                        let p = r * cols + j;
                        for o in 0..n {
                            let mut s = bias[o] as f64 + res[p * ldc + o] as f64;
                            for (t, off) in offsets.iter().enumerate() {
                                for q in 0..k {
                                    let x = img[off + r * row_step + q * plane + j] as f64;
                                    s += w[(t * k + q) * n + o] as f64 * x;
                                }
                            }
                            let want = ref_act(act, s);
                            let got = c[p * ldc + o] as f64;
                            assert!(
                                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                                "{isa:?} n{n} k{k} {rows}x{cols} [{r}, {j}, {o}]: {got} vs {want}"
                            );
                        }
                        // Columns past n stay untouched.
                        assert!(c[p * ldc + n..(p + 1) * ldc].iter().all(|x| x.is_nan()));
                    }
                }
            }
            let slack = TapGrid::row_slack_isa(isa, cols);
            let need = offsets.iter().max().unwrap() + (rows - 1) * row_step + (k - 1) * plane + cols + slack;
            let mut c = vec![0.0; m * ldc];
            for (len, ok) in [(need, true), (need - 1, false)] {
                let g = TapGrid {
                    data: &img[..len],
                    ..grid
                };
                let r = sgemm_taps_t_isa(isa, n, k, &b, &g, &mut c, ldc, &Epilogue::none());
                assert_eq!(r.is_ok(), ok, "{isa:?} {len}");
            }
            assert!(sgemm_taps_t_isa(isa, n, k + 1, &b, &grid, &mut c, ldc, &Epilogue::none()).is_err());
        }
    }
}
