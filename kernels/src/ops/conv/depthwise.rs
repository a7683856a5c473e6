//! Depthwise convolution (one input channel per group).
//!
//! f32 3×3 windows with stride 1 or 2, padding one and output rows of at most 32 run the
//! AVX-512 kernel in `small` where the CPU has it, straight from the plane. Other f32 3×3
//! windows with stride 1 or 2 (any padding, no dilation, at most two spatial dims) copy
//! the channel into a zero-padded plane once (stride 2: each row split into even and odd
//! columns), then compute each output row with all nine taps in registers, vectorised over the
//! output width with contiguous loads. Everything else takes the generic direct path
//! (one pass per tap over the valid output range).

use crate::ops::conv::fast::finish;
use crate::ops::conv::geom::{valid_range, Geom};
use crate::ops::layout::tile::deinterleave;
use crate::ops::linalg::gemm::GemmElem;
use crate::ops::linalg::sgemm::Activation;
use crate::util::copy_short;
use std::any::TypeId;

#[cfg(target_arch = "x86_64")]
#[path = "depthwise/small.rs"]
mod small;

/// Convolve one input channel `xc` with `mg` filters `wg` (`mg × k_size`) into `dst`
/// (`mg × out_size`), adding `bias` (`mg` values) when given.
pub fn depthwise<T: GemmElem>(xc: &[T], wg: &[T], bias: Option<&[T]>, dst: &mut [T], g: &Geom, mg: usize) {
    if let (Some(x), Some(w), Some(d)) = (as_f32(xc), as_f32(wg), as_f32_mut(dst)) {
        if fast_3x3(g).is_some() {
            let b = bias.and_then(as_f32);
            return dw3x3(x, w, b, d, g, mg);
        }
    }
    generic(xc, wg, bias, dst, g, mg)
}

/// `s` as an f32 slice when `T` is f32.
fn as_f32<T: 'static>(s: &[T]) -> Option<&[f32]> {
    (TypeId::of::<T>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: `T` is `f32` (same TypeId), so pointer, length, alignment and lifetime of the
        // reinterpreted slice are exactly those of `s`.
        unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), s.len()) }
    })
}

/// `s` as a mutable f32 slice when `T` is f32.
fn as_f32_mut<T: 'static>(s: &mut [T]) -> Option<&mut [f32]> {
    (TypeId::of::<T>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: `T` is `f32` (same TypeId); the new slice covers exactly the memory of `s`,
        // which it borrows mutably for its whole lifetime.
        unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<f32>(), s.len()) }
    })
}

/// The stride (1 or 2) when the window is a plain 3×3 over at most two spatial dims.
fn fast_3x3(g: &Geom) -> Option<usize> {
    let two_d = g.inp[0] == 1 && g.k[0] == 1 && g.out[0] == 1 && g.pb[0] == 0;
    let plain = g.k[1] == 3 && g.k[2] == 3 && g.d[1] == 1 && g.d[2] == 1 && g.s[1] == g.s[2];
    (two_d && plain && (g.s[1] == 1 || g.s[1] == 2)).then_some(g.s[1])
}

/// Whether [`dw3x3_planes`] takes this geometry.
pub(crate) fn fast_f32(g: &Geom) -> bool {
    fast_3x3(g).is_some()
}

/// f32 3×3 depthwise over one plane (no residual, no activation).
fn dw3x3(x: &[f32], w: &[f32], bias: Option<&[f32]>, dst: &mut [f32], g: &Geom, mg: usize) {
    dw3x3_planes(x, w, bias, None, Activation::None, dst, g, mg, 1, 0);
}

/// f32 3×3 depthwise over consecutive (image, channel) planes `first, first + 1, …` of a
/// convolution with `group` channels: `x` holds their input planes, `dst` (and `res`, added
/// before `act`) their `mg` output planes each; `w` (`group · mg × 9`) and `bias` are whole.
///
/// The zero-padded plane is laid out once for all of them (its border stays zero: only the
/// interior is rewritten per plane). With stride 1 every filter is then one long vectorised
/// pass over the padded rows (outputs computed at padded width, the two spare columns per row
/// dropped when the epilogue writes `dst`); with stride 2 each padded row is stored as its even
/// columns followed by its odd columns, so the three column taps of output `j` are `even[j]`,
/// `odd[j]` and `even[j + 1]`, and each output row is one contiguous pass.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dw3x3_planes(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    res: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
    g: &Geom,
    mg: usize,
    group: usize,
    first: usize,
) {
    let s = g.s[1];
    let (in_sz, oh, ow) = (g.in_size(), g.out[1], g.out[2]);
    let out_sz = oh * ow;
    if out_sz == 0 || in_sz == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if small::supports(g, s) {
        // Rows of at most 32 outputs with padding one: straight from the plane, no padded copy.
        let planes = x.chunks_exact(in_sz).zip(dst.chunks_exact_mut(mg * out_sz));
        for (k, (xc, dc)) in planes.enumerate() {
            let grp = (first + k) % group;
            for (mo, out) in dc.chunks_exact_mut(out_sz).enumerate() {
                let f = grp * mg + mo;
                let mut wk = [0.0f32; 9];
                wk.copy_from_slice(&w[f * 9..f * 9 + 9]);
                small::plane(xc, g, s, &wk, bias.map_or(0.0, |b| b[f]), out);
                let r = res.map(|r| &r[(k * mg + mo) * out_sz..(k * mg + mo + 1) * out_sz]);
                if r.is_some() || act != Activation::None {
                    finish(out, r, act);
                }
            }
        }
        return;
    }
    // The padded plane covers exactly the rows / columns the windows touch; with stride 1 the
    // flat pass's outputs follow it.
    let (ph, pw) = ((oh - 1) * s + 3, (ow - 1) * s + 3);
    let flat = if s == 1 { oh * pw } else { 0 };
    crate::buffers::with_scratch(&PADDED, ph * pw + flat, |buf| {
        buf.clear();
        buf.resize(ph * pw + flat, 0.0);
        let (p, tmp) = buf.split_at_mut(ph * pw);
        let planes = x.chunks_exact(in_sz).zip(dst.chunks_exact_mut(mg * out_sz));
        for (k, (xc, dc)) in planes.enumerate() {
            fill_padded(xc, g, p, pw);
            let grp = (first + k) % group;
            for (mo, out) in dc.chunks_exact_mut(out_sz).enumerate() {
                let f = grp * mg + mo;
                let mut wk = [0.0f32; 9];
                wk.copy_from_slice(&w[f * 9..f * 9 + 9]);
                let b = bias.map_or(0.0, |b| b[f]);
                let r = res.map(|r| &r[(k * mg + mo) * out_sz..(k * mg + mo + 1) * out_sz]);
                plane(p, pw, &wk, b, s, out, ow, tmp);
                if r.is_some() || act != Activation::None {
                    finish(out, r, act);
                }
            }
        }
    });
}

/// Padded planes (then the stride-1 flat outputs) for [`dw3x3_planes`] (grow-only).
static PADDED: crate::buffers::Scratch<Vec<f32>> = crate::buffers::Scratch::new();

/// Copy input plane `x` into the interior of the zero-bordered padded plane `p` (`pw` wide;
/// with stride 2 each row split into its even then odd columns).
fn fill_padded(x: &[f32], g: &Geom, p: &mut [f32], pw: usize) {
    let s = g.s[1];
    let (ih, iw) = (g.inp[1], g.inp[2]);
    // Columns c of the padded row hold input column c - pb.
    let c0 = g.pb[2].max(0) as usize;
    let skip = (-g.pb[2]).max(0) as usize;
    let n = if c0 < pw && skip < iw {
        (iw - skip).min(pw - c0)
    } else {
        0
    };
    for (r, prow) in p.chunks_exact_mut(pw).enumerate() {
        let y = r as isize - g.pb[1];
        if y < 0 || y >= ih as isize || n == 0 {
            continue;
        }
        let src = &x[y as usize * iw + skip..y as usize * iw + skip + n];
        if s == 1 {
            copy_short(&mut prow[c0..c0 + n], src);
        } else {
            // Padded column c goes to even[c / 2] (even c) or odd[c / 2] (odd c).
            let (even, odd) = prow.split_at_mut(pw.div_ceil(2));
            let (mut c, mut src) = (c0, src);
            if c % 2 == 1 {
                odd[c / 2] = src[0];
                (c, src) = (c + 1, &src[1..]);
            }
            // c is even: src[2q] is even[c/2 + q], src[2q + 1] is odd[c/2 + q].
            let (q, h) = (c / 2, src.len());
            deinterleave(src, &mut even[q..q + h.div_ceil(2)], &mut odd[q..q + h / 2]);
        }
    }
}

/// All output rows of one filter, using AVX2 + FMA code generation where the CPU has it.
#[allow(clippy::too_many_arguments)]
fn plane(p: &[f32], pw: usize, w: &[f32; 9], b: f32, s: usize, out: &mut [f32], ow: usize, tmp: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (detected just above), the only requirements
        // of `plane_avx2`.
        return unsafe { plane_avx2(p, pw, w, b, s, out, ow, tmp) };
    }
    plane_impl::<false>(p, pw, w, b, s, out, ow, tmp)
}

/// [`plane_impl`] compiled for AVX2 with fused multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn plane_avx2(p: &[f32], pw: usize, w: &[f32; 9], b: f32, s: usize, out: &mut [f32], ow: usize, tmp: &mut [f32]) {
    plane_impl::<true>(p, pw, w, b, s, out, ow, tmp)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn plane_impl<const FMA: bool>(
    p: &[f32],
    pw: usize,
    w: &[f32; 9],
    b: f32,
    s: usize,
    out: &mut [f32],
    ow: usize,
    tmp: &mut [f32],
) {
    let oh = out.len() / ow;
    if s == 1 {
        // Output (r, j) at flat position r·pw + j: one pass over every row at padded width
        // (the last row stops at its last output), then the spare columns are dropped.
        let len = (oh - 1) * pw + ow;
        let rows = [p, &p[pw..], &p[2 * pw..]];
        row::<FMA>(&mut tmp[..len], rows, [0, 1, 2], w, b);
        for (o, t) in out.chunks_exact_mut(ow).zip(tmp.chunks(pw)) {
            copy_short(o, &t[..ow]);
        }
        return;
    }
    for (r, o) in out.chunks_exact_mut(ow).enumerate() {
        let top = r * s * pw;
        let rows = &p[top..top + 3 * pw];
        let (r0, rest) = rows.split_at(pw);
        let (r1, r2) = rest.split_at(pw);
        // Taps 0 and 2 read the even half, tap 1 the odd half.
        let ne = pw.div_ceil(2);
        row::<FMA>(o, [r0, r1, r2], [0, ne, 1], w, b);
    }
}

/// One row: [`row3_avx2`] when `FMA` (instantiated only behind the AVX2 + FMA check in
/// [`plane`]), else [`row3`].
#[inline(always)]
fn row<const FMA: bool>(o: &mut [f32], r: [&[f32]; 3], off: [usize; 3], w: &[f32; 9], b: f32) {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: `plane_impl::<true>` runs only from `plane_avx2`, after `plane` detected AVX2
        // and FMA.
        return unsafe { row3_avx2(o, r, off, w, b) };
    }
    row3::<FMA>(o, r, off, w, b)
}

/// [`row3`] with explicit 8-wide AVX2 FMA blocks, the last one overlapping the previous instead
/// of leaving a scalar tail (a row of 28 outputs is four blocks, not three and four scalar
/// chains of nine dependent multiply-adds). Results equal `row3::<true>`'s: the same fused
/// multiply-adds in the same order.
///
/// # Safety
/// AVX2 and FMA must be available.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row3_avx2(o: &mut [f32], r: [&[f32]; 3], off: [usize; 3], w: &[f32; 9], b: f32) {
    use std::arch::x86_64::*;
    let n = o.len();
    if n < 8 {
        return row3::<true>(o, r, off, w, b);
    }
    // Every tap's n values, bounds-checked once.
    let t = |i: usize, k: usize| r[i][off[k]..off[k] + n].as_ptr();
    let x = [
        t(0, 0),
        t(0, 1),
        t(0, 2),
        t(1, 0),
        t(1, 1),
        t(1, 2),
        t(2, 0),
        t(2, 1),
        t(2, 2),
    ];
    let wv = w.map(|v| _mm256_set1_ps(v));
    let mut j = 0;
    loop {
        let j0 = j.min(n - 8);
        let mut acc = _mm256_set1_ps(b);
        for (xk, wk) in x.iter().zip(&wv) {
            // SAFETY: j0 + 8 <= n and every tap slice holds n values.
            acc = _mm256_fmadd_ps(*wk, unsafe { _mm256_loadu_ps(xk.add(j0)) }, acc);
        }
        // SAFETY: j0 + 8 <= n = o.len().
        unsafe { _mm256_storeu_ps(o.as_mut_ptr().add(j0), acc) };
        if j0 + 8 >= n {
            return;
        }
        j += 8;
    }
}

/// `o[j] = b + Σ w[3i + k] · ri[off[k] + j]`, summed in the generic path's tap order (fused
/// multiply-adds with `FMA`).
#[inline(always)]
fn row3<const FMA: bool>(o: &mut [f32], r: [&[f32]; 3], off: [usize; 3], w: &[f32; 9], b: f32) {
    let n = o.len();
    let t = |i: usize, k: usize| &r[i][off[k]..off[k] + n];
    let (a0, a1, a2) = (t(0, 0), t(0, 1), t(0, 2));
    let (b0, b1, b2) = (t(1, 0), t(1, 1), t(1, 2));
    let (c0, c1, c2) = (t(2, 0), t(2, 1), t(2, 2));
    let ma = |acc: f32, w: f32, x: f32| if FMA { w.mul_add(x, acc) } else { acc + w * x };
    for j in 0..n {
        let mut acc = b;
        acc = ma(acc, w[0], a0[j]);
        acc = ma(acc, w[1], a1[j]);
        acc = ma(acc, w[2], a2[j]);
        acc = ma(acc, w[3], b0[j]);
        acc = ma(acc, w[4], b1[j]);
        acc = ma(acc, w[5], b2[j]);
        acc = ma(acc, w[6], c0[j]);
        acc = ma(acc, w[7], c1[j]);
        acc = ma(acc, w[8], c2[j]);
        o[j] = acc;
    }
}

/// Generic direct depthwise convolution: bias, then one pass per tap over the valid outputs.
pub(super) fn generic<T: GemmElem>(xc: &[T], wg: &[T], bias: Option<&[T]>, dst: &mut [T], g: &Geom, mg: usize) {
    let (out_sz, ks) = (g.out_size(), g.k_size());
    for (mo, orow) in dst.chunks_mut(out_sz).enumerate().take(mg) {
        orow.fill(bias.map_or(T::default(), |b| b[mo]));
        let wk = &wg[mo * ks..(mo + 1) * ks];
        for (k, &wv) in wk.iter().enumerate() {
            let [kd, kh, kw] = g.k_index(k);
            let offw = (kw * g.d[2]) as isize - g.pb[2];
            let (lo, hi) = valid_range(offw, g.s[2], g.inp[2], g.out[2]);
            if lo >= hi {
                continue;
            }
            for od in 0..g.out[0] {
                let id = (od * g.s[0] + kd * g.d[0]) as isize - g.pb[0];
                if id < 0 || id >= g.inp[0] as isize {
                    continue;
                }
                for oh in 0..g.out[1] {
                    let ih = (oh * g.s[1] + kh * g.d[1]) as isize - g.pb[1];
                    if ih < 0 || ih >= g.inp[1] as isize {
                        continue;
                    }
                    let base = (id as usize * g.inp[1] + ih as usize) * g.inp[2];
                    let start = (base as isize + lo as isize * g.s[2] as isize + offw) as usize;
                    let o = &mut orow[(od * g.out[1] + oh) * g.out[2] + lo..(od * g.out[1] + oh) * g.out[2] + hi];
                    mul_add_row(o, &xc[start..], g.s[2], wv);
                }
            }
        }
    }
}

/// `o[j] += w · x[j·s]`.
#[inline]
fn mul_add_row<T: GemmElem>(o: &mut [T], x: &[T], s: usize, w: T) {
    if s == 1 {
        for (ov, &xv) in o.iter_mut().zip(x) {
            *ov = T::mul_add(w, xv, *ov);
        }
    } else {
        for (j, ov) in o.iter_mut().enumerate() {
            *ov = T::mul_add(w, x[j * s], *ov);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::conv::geom::{AutoPad, Window};

    fn vals(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    fn geom(hw: [usize; 2], k: [usize; 2], s: usize, pads: [usize; 4], auto_pad: AutoPad) -> Geom {
        let w = Window {
            kernel_shape: Some(k.to_vec()),
            strides: vec![s, s],
            dilations: vec![],
            pads: if auto_pad == AutoPad::NotSet {
                pads.to_vec()
            } else {
                vec![]
            },
            auto_pad,
        };
        w.resolve("Conv", &hw, &k, false).unwrap()
    }

    /// The fast f32 kernel against the generic path, with and without bias and multiplier > 1.
    fn check(g: &Geom) {
        for (mg, with_bias) in [(1, true), (1, false), (3, true)] {
            let x = vals(g.in_size(), 1);
            let w = vals(mg * g.k_size(), 2);
            let b = vals(mg, 3);
            let bias = with_bias.then_some(&b[..]);
            let mut fast = vec![f32::NAN; mg * g.out_size()];
            let mut slow = vec![f32::NAN; mg * g.out_size()];
            depthwise(&x, &w, bias, &mut fast, g, mg);
            generic(&x, &w, bias, &mut slow, g, mg);
            for (i, (p, q)) in fast.iter().zip(&slow).enumerate() {
                assert!((p - q).abs() <= 1e-5, "{g:?} mg {mg} at {i}: {p} vs {q}");
            }
        }
    }

    #[test]
    fn fast_3x3_matches_generic() {
        for s in [1, 2] {
            for hw in [
                [1, 1],
                [2, 3],
                [7, 7],
                [28, 28],
                [13, 9],
                [56, 57],
                [4, 40],
                [3, 16],
                [5, 17],
                [6, 33],
            ] {
                for pads in [[1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 1, 0], [2, 2, 2, 2], [1, 0, 1, 0]] {
                    let (ph, pw) = (hw[0] + pads[0] + pads[2], hw[1] + pads[1] + pads[3]);
                    if ph >= 3 && pw >= 3 {
                        check(&geom(hw, [3, 3], s, pads, AutoPad::NotSet));
                    }
                }
                check(&geom(hw, [3, 3], s, [0; 4], AutoPad::SameUpper));
                check(&geom(hw, [3, 3], s, [0; 4], AutoPad::SameLower));
            }
        }
        assert_eq!(fast_3x3(&geom([8, 8], [3, 3], 1, [1; 4], AutoPad::NotSet)), Some(1));
        assert_eq!(fast_3x3(&geom([8, 8], [3, 3], 2, [1; 4], AutoPad::NotSet)), Some(2));
    }

    #[test]
    fn planes_in_one_call_match_the_generic_path_with_residual_and_activation() {
        // Batch 2 of 3 channels, multiplier 2, starting at plane 1 (channel 1 of image 0), so
        // the channel index wraps into the second image.
        let (group, mg, first, count) = (3usize, 2usize, 1usize, 4usize);
        for s in [1, 2] {
            for hw in [[7, 7], [14, 14], [5, 17]] {
                let g = geom(hw, [3, 3], s, [1; 4], AutoPad::NotSet);
                let (in_sz, out_sz) = (g.in_size(), g.out_size());
                let x = vals(count * in_sz, 7);
                let w = vals(group * mg * 9, 8);
                let b = vals(group * mg, 9);
                let res = vals(count * mg * out_sz, 10);
                let mut got = vec![f32::NAN; count * mg * out_sz];
                dw3x3_planes(
                    &x,
                    &w,
                    Some(&b),
                    Some(&res),
                    Activation::Relu,
                    &mut got,
                    &g,
                    mg,
                    group,
                    first,
                );
                for k in 0..count {
                    let grp = (first + k) % group;
                    let mut want = vec![f32::NAN; mg * out_sz];
                    let f = grp * mg..(grp + 1) * mg;
                    let wg = &w[f.start * 9..f.end * 9];
                    generic(&x[k * in_sz..(k + 1) * in_sz], wg, Some(&b[f]), &mut want, &g, mg);
                    let base = k * mg * out_sz;
                    for (i, &v) in want.iter().enumerate() {
                        let v = (v + res[base + i]).max(0.0);
                        let p = got[base + i];
                        assert!((p - v).abs() <= 1e-5, "{g:?} plane {k} at {i}: {p} vs {v}");
                    }
                }
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn small_planes_match_the_generic_path_at_every_width() {
        let probe = geom([8, 8], [3, 3], 1, [1; 4], AutoPad::NotSet);
        if !small::supports(&probe, 1) {
            println!("SKIPPED: the small-plane depthwise kernel needs AVX-512F");
            return;
        }
        let mut planes = 0;
        for s in [1, 2] {
            // Output rows of one vector, one vector exactly, two, and two exactly.
            for iw in [1, 2, 7, 15, 16, 17, 28, 31, 32, 33, 56, 63, 64] {
                for ih in [1, 3, 14] {
                    let g = geom([ih, iw], [3, 3], s, [1; 4], AutoPad::NotSet);
                    if !small::supports(&g, s) {
                        assert!(g.out[2] > 32, "{g:?}");
                        continue;
                    }
                    let x = vals(g.in_size(), iw as u64);
                    let w = vals(9, 5);
                    let mut got = vec![f32::NAN; g.out_size()];
                    let mut want = vec![f32::NAN; g.out_size()];
                    let wk: [f32; 9] = std::array::from_fn(|i| w[i]);
                    small::plane(&x, &g, s, &wk, 0.25, &mut got);
                    generic(&x, &w, Some(&[0.25]), &mut want, &g, 1);
                    for (i, (p, q)) in got.iter().zip(&want).enumerate() {
                        assert!((p - q).abs() <= 1e-5, "{g:?} at {i}: {p} vs {q}");
                    }
                    planes += 1;
                }
            }
        }
        assert!(planes >= 60, "{planes} planes checked");
    }

    #[test]
    fn other_windows_take_the_generic_path() {
        let g = geom([9, 9], [5, 5], 1, [2; 4], AutoPad::NotSet);
        assert_eq!(fast_3x3(&g), None);
        check(&g);
        let g = geom([9, 9], [3, 3], 3, [1; 4], AutoPad::NotSet);
        assert_eq!(fast_3x3(&g), None);
        check(&g);
        // f64 always takes the generic path and agrees with the f32 fast kernel.
        let g = geom([6, 5], [3, 3], 2, [1; 4], AutoPad::NotSet);
        let (x, w) = (vals(30, 4), vals(9, 5));
        let mut f = vec![0.0f32; g.out_size()];
        depthwise(&x, &w, None, &mut f, &g, 1);
        let (x64, w64): (Vec<f64>, Vec<f64>) = (
            x.iter().map(|&v| v as f64).collect(),
            w.iter().map(|&v| v as f64).collect(),
        );
        let mut d = vec![0.0f64; g.out_size()];
        depthwise(&x64, &w64, None, &mut d, &g, 1);
        for (a, b) in f.iter().zip(&d) {
            assert!((*a as f64 - b).abs() < 1e-5);
        }
    }

    #[test]
    fn depthwise_conv_rejects_mismatched_operands() {
        let g = geom([5, 5], [3, 3], 1, [1; 4], AutoPad::NotSet);
        let cs = super::super::ConvShape {
            n: 1,
            c: 2,
            m: 2,
            group: 2,
            geom: g,
        };
        let x = vals(50, 1);
        assert!(super::super::conv(&x, &vals(18, 2), None, &cs).is_ok());
        assert!(super::super::conv(&x, &vals(17, 2), None, &cs).is_err());
        assert!(super::super::conv(&x[..49], &vals(18, 2), None, &cs).is_err());
        assert!(super::super::conv(&x, &vals(18, 2), Some(&[1.0][..]), &cs).is_err());
    }
}
