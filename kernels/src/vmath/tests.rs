//! Accuracy against f64 references over dense sweeps of every binade, special values, tails
//! and the softmax reductions, for every ISA this CPU has.

use super::{exp_shift_sum, map, map_inplace, map_isa, max, Func};
use crate::ops::linalg::sgemm::Isa;

/// The f64 reference.
fn reference(f: Func, x: f64) -> f64 {
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    match f {
        Func::Exp => x.exp(),
        Func::Log => x.ln(),
        Func::Erf => libm::erf(x),
        Func::Tanh => x.tanh(),
        Func::Sigmoid => sig(x),
        Func::Silu => x * sig(x),
        Func::Gelu => 0.5 * x * (1.0 + libm::erf(x * std::f64::consts::FRAC_1_SQRT_2)),
    }
}

/// One unit in the last place of f32 at `r` (subnormal spacing below the normals).
fn ulp(r: f64) -> f64 {
    let a = r.abs();
    if a < f32::MIN_POSITIVE as f64 {
        2f64.powi(-149)
    } else {
        2f64.powi(a.log2().floor() as i32 - 23)
    }
}

/// Error of `got` in ulps of the reference, except where the formula itself limits the
/// accuracy: GELU below zero (its `1 + erf` cancels) is measured in units of
/// `max(ulp, 2⁻²⁴·|x|)`, and SiLU below x = −87 (where its sigmoid factor is subnormal) in
/// units of `2⁻¹⁴⁹·|x|`.
fn err_ulps(f: Func, x: f32, got: f32) -> f64 {
    let r = reference(f, x as f64);
    let r32 = r as f32;
    if r.is_nan() {
        return if got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if r32.is_infinite() || got.is_infinite() {
        return if got == r32 { 0.0 } else { f64::INFINITY };
    }
    let d = (got as f64 - r).abs();
    let ax = (x as f64).abs();
    match f {
        Func::Gelu if x < 0.0 => d / ulp(r).max(2f64.powi(-24) * ax),
        Func::Silu if x < -87.0 => d / (2f64.powi(-149) * ax),
        _ => d / ulp(r),
    }
}

/// Inputs: every 997th f32 bit pattern of both signs (all binades, about 8.6 million values),
/// plus a fine uniform grid over [-20, 20] where the functions bend.
fn sweep() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..0x7F80_0000u32).step_by(997).map(f32::from_bits).collect();
    let neg: Vec<f32> = xs.iter().map(|v| -v).collect();
    xs.extend(neg);
    xs.extend((0..400_000).map(|i| -20.0 + i as f32 * 1e-4));
    xs
}

/// The bound each function is held to, in ulps (measured maxima are printed by the sweep).
fn bound(f: Func) -> f64 {
    match f {
        Func::Exp | Func::Log | Func::Tanh => 2.0,
        Func::Sigmoid | Func::Silu => 4.0,
        // Rounding in the rational's two Horner chains near erf → 1 (relative ≤ 3.6e-7).
        Func::Erf | Func::Gelu => 6.0,
    }
}

fn isas() -> Vec<Isa> {
    Isa::available()
}

#[test]
fn accuracy_over_dense_sweeps() {
    let xs = sweep();
    let mut y = vec![0.0f32; xs.len()];
    let mut failures = Vec::new();
    for isa in isas() {
        for f in Func::ALL {
            assert!(map_isa(isa, f, &xs, &mut y).is_some());
            let (mut worst, mut at) = (0.0f64, 0.0f32);
            for (&x, &g) in xs.iter().zip(&y) {
                let e = err_ulps(f, x, g);
                if e > worst {
                    (worst, at) = (e, x);
                }
            }
            println!("{isa:?} {f:?}: max error {worst:.3} ulp at x = {at:e}");
            if worst > bound(f) {
                failures.push(format!("{isa:?} {f:?}: {worst} ulp at x = {at:e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn special_values() {
    let inf = f32::INFINITY;
    let cases: &[(Func, f32, f32)] = &[
        (Func::Exp, 0.0, 1.0),
        (Func::Exp, -0.0, 1.0),
        (Func::Exp, inf, inf),
        (Func::Exp, -inf, 0.0),
        (Func::Exp, 88.8, inf),
        (Func::Exp, 1e30, inf),
        (Func::Exp, -104.0, 0.0),
        (Func::Exp, -1e30, 0.0),
        (Func::Log, 1.0, 0.0),
        (Func::Log, 0.0, -inf),
        (Func::Log, -0.0, -inf),
        (Func::Log, inf, inf),
        (Func::Erf, 0.0, 0.0),
        (Func::Erf, 3.95, 1.0),
        (Func::Erf, 5.0, 1.0),
        (Func::Erf, -5.0, -1.0),
        (Func::Erf, inf, 1.0),
        (Func::Erf, -inf, -1.0),
        (Func::Tanh, 0.0, 0.0),
        (Func::Tanh, 9.1, 1.0),
        (Func::Tanh, 50.0, 1.0),
        (Func::Tanh, -50.0, -1.0),
        (Func::Tanh, inf, 1.0),
        (Func::Tanh, -inf, -1.0),
        (Func::Sigmoid, 0.0, 0.5),
        (Func::Sigmoid, 20.0, 1.0),
        (Func::Sigmoid, inf, 1.0),
        (Func::Sigmoid, -inf, 0.0),
        (Func::Sigmoid, -200.0, 0.0),
        (Func::Silu, 0.0, 0.0),
        (Func::Silu, inf, inf),
        (Func::Silu, -200.0, -0.0),
        (Func::Gelu, 0.0, 0.0),
        (Func::Gelu, inf, inf),
        (Func::Gelu, 10.0, 10.0),
    ];
    for isa in isas() {
        for &(f, x, want) in cases {
            let mut y = [0.0f32; 1];
            assert!(map_isa(isa, f, &[x], &mut y).is_some());
            assert_eq!(y[0], want, "{isa:?} {f:?}({x})");
        }
        // Odd functions keep the sign of zero.
        for f in [Func::Erf, Func::Tanh] {
            let mut y = [0.0f32; 1];
            assert!(map_isa(isa, f, &[-0.0], &mut y).is_some());
            assert!(y[0] == 0.0 && y[0].is_sign_negative(), "{isa:?} {f:?}(-0) = {}", y[0]);
        }
        // NaN propagates (quiet NaNs of either sign), and ln of a negative number is NaN.
        let nans = [f32::NAN, -f32::NAN, f32::from_bits(0x7FC0_1234)];
        for f in Func::ALL {
            let mut y = [0.0f32; 3];
            assert!(map_isa(isa, f, &nans, &mut y).is_some());
            assert!(y.iter().all(|v| v.is_nan()), "{isa:?} {f:?}(NaN) = {y:?}");
        }
        for x in [-1.0f32, -f32::MIN_POSITIVE, -inf] {
            let mut y = [0.0f32; 1];
            assert!(map_isa(isa, Func::Log, &[x], &mut y).is_some());
            assert!(y[0].is_nan(), "{isa:?} ln({x}) = {}", y[0]);
        }
    }
}

#[test]
fn every_length_and_in_place() {
    for n in 0..70 {
        let xs: Vec<f32> = (0..n).map(|i| (i as f32 - 30.0) * 0.37).collect();
        for isa in isas() {
            for f in Func::ALL {
                // A sentinel after the end checks nothing is written past `n`.
                let mut y = vec![7.5f32; n + 1];
                assert!(map_isa(isa, f, &xs, &mut y[..n]).is_some());
                assert_eq!(y[n], 7.5);
                for (i, (&x, &g)) in xs.iter().zip(&y).enumerate() {
                    let e = err_ulps(f, x, g);
                    assert!(e <= bound(f), "{isa:?} {f:?} n={n} i={i}: x={x} got {g}");
                }
            }
        }
        for f in Func::ALL {
            let mut a = vec![0.0f32; n];
            map(f, &xs, &mut a);
            let mut b = xs.clone();
            map_inplace(f, &mut b);
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{f:?} n={n}"
            );
        }
    }
    // Mismatched lengths work on the common prefix.
    let mut y = [0.0f32; 2];
    map(Func::Exp, &[0.0, 0.0, 0.0], &mut y);
    assert_eq!(y, [1.0, 1.0]);
}

#[test]
fn softmax_reductions() {
    for n in [0usize, 1, 7, 8, 31, 64, 65, 128, 1000] {
        let xs: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.11).collect();
        let want_max = xs.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        assert_eq!(max(&xs), want_max, "n={n}");
        let mut y = vec![0.0f32; n];
        let s = exp_shift_sum(&xs, want_max, &mut y);
        let mut want_sum = 0.0f64;
        for (&x, &g) in xs.iter().zip(&y) {
            // The shift is an f32 subtraction in the kernel too.
            let r = ((x - want_max) as f64).exp();
            want_sum += r;
            assert!(
                (g as f64 - r).abs() <= 4.0 * ulp(r),
                "n={n}: e^({x}-{want_max}) = {g}, want {r}"
            );
        }
        assert!(
            (s as f64 - want_sum).abs() <= 1e-6 * want_sum.max(1.0),
            "n={n}: sum {s} vs {want_sum}"
        );
    }
    // NaN is ignored by the maximum (as `f32::max` folds), and poisons the sum.
    let mut xs = vec![1.0f32; 40];
    xs[17] = f32::NAN;
    xs[33] = 3.0;
    assert_eq!(max(&xs), 3.0);
    let mut y = vec![0.0f32; 40];
    assert!(exp_shift_sum(&xs, 3.0, &mut y).is_nan());
    assert_eq!(max(&[f32::NAN; 20]), f32::NEG_INFINITY);
}
