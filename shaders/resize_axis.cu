// One separable pass of Resize along one axis: Y[o, y, r] = sum_k w_k(y) * X[o, idx_k(y), r],
// with the taps computed per output index by the CPU kernel's rules (coordinate transform,
// nearest rounding, linear / cubic with antialias, exclude_outside, tf_crop_and_resize
// extrapolation), in f64 and in the CPU's operation order without contraction, so nearest
// ties and integer rounding match it. X and Y are the pass's input and output types (the
// intermediate passes are f64).
struct SuanliResizeParams {
    long long n, in_len, out_len, inner;
    // mode (0 nearest, 1 linear, 2 cubic), coordinate transform (0 half_pixel,
    // 1 half_pixel_symmetric, 2 pytorch_half_pixel, 3 align_corners, 4 asymmetric,
    // 5 tf_half_pixel_for_nn, 6 tf_crop_and_resize), nearest rounding (0 round_prefer_floor,
    // 1 round_prefer_ceil, 2 floor, 3 ceil, 4 simple), exclude_outside, antialias, and 1 when
    // this pass rounds and clamps to an integer output.
    long long mode, coord, nearest, exclude_outside, antialias, round_int;
    // f64 bits: scale, roi start and end, cubic coefficient, extrapolation value, and the
    // integer output's bounds.
    long long scale, roi0, roi1, cubic_a, extrapolation, lo, hi;
};

#define SL_MUL __dmul_rn
#define SL_ADD __dadd_rn
#define SL_SUB __dsub_rn

// Source coordinate of output index y; *outside when it leaves the crop box.
__device__ double suanli_source_coord(const SuanliResizeParams& p, double y, bool* outside) {
    double scale = __longlong_as_double(p.scale);
    double inw = (double)p.in_len;
    double outw = SL_MUL(scale, inw);
    *outside = false;
    switch (p.coord) {
    case 3:
        return outw == 1.0 ? 0.0 : SL_MUL(y, inw - 1.0) / SL_SUB(outw, 1.0);
    case 4:
        return y / scale;
    case 6: {
        double r0 = __longlong_as_double(p.roi0), r1 = __longlong_as_double(p.roi1);
        double span = SL_SUB(r1, r0);
        double a = outw == 1.0 ? SL_MUL(span, inw - 1.0) / 2.0 : SL_MUL(SL_MUL(y, span), inw - 1.0) / SL_SUB(outw, 1.0);
        double x = SL_ADD(a, SL_MUL(r0, inw - 1.0));
        *outside = x < 0.0 || x > inw - 1.0;
        return x;
    }
    case 2:
        return outw == 1.0 ? -0.5 : SL_SUB((y + 0.5) / scale, 0.5);
    case 1: {
        double adjustment = (double)p.out_len / outw;
        double offset = SL_MUL(inw / 2.0, SL_SUB(1.0, adjustment));
        return SL_SUB(SL_ADD(offset, (y + 0.5) / scale), 0.5);
    }
    case 5:
        return (y + 0.5) / scale;
    default:
        return SL_SUB((y + 0.5) / scale, 0.5);
    }
}

// Keys cubic kernel weight at distance x.
__device__ double suanli_cubic(double x, double a) {
    x = fabs(x);
    if (x <= 1.0) return SL_ADD(SL_MUL(SL_MUL(SL_SUB(SL_MUL(a + 2.0, x), a + 3.0), x), x), 1.0);
    if (x < 2.0) {
        double t = SL_ADD(SL_MUL(SL_SUB(SL_MUL(a, x), SL_MUL(5.0, a)), x), SL_MUL(8.0, a));
        return SL_SUB(SL_MUL(t, x), SL_MUL(4.0, a));
    }
    return 0.0;
}

// Tap count and the first antialias offset of the kernel.
__device__ void suanli_tap_count(const SuanliResizeParams& p, double scale, long long* n, long long* start) {
    *start = 0;
    if (p.mode == 0) {
        *n = 2;
    } else if (p.antialias) {
        double s = fmin(scale, 1.0);
        *start = (long long)floor((p.mode == 1 ? -1.0 : -2.0) / s) + 1;
        *n = 2 - 2 * *start;
    } else {
        *n = p.mode == 1 ? 2 : 4;
    }
}

// Raw (unnormalised) coefficient k for the fractional position ratio in (0, 1].
__device__ double suanli_coeff(const SuanliResizeParams& p, double ratio, double scale, long long k, long long start) {
    if (p.mode == 0) {
        if (ratio == 1.0) return k == 1 ? 1.0 : 0.0;
        bool first;
        switch (p.nearest) {
        case 0: first = ratio <= 0.5; break;
        case 1: first = ratio < 0.5; break;
        case 2: first = true; break;
        case 3: first = false; break;
        default: first = scale >= 1.0; break;
        }
        return (k == 0) == first ? 1.0 : 0.0;
    }
    double a = __longlong_as_double(p.cubic_a);
    if (p.antialias) {
        double s = fmin(scale, 1.0);
        double i = (double)(start + k);
        if (p.mode == 1) return fmin(fmax(SL_SUB(1.0, fabs(SL_MUL(SL_SUB(i, ratio), s))), 0.0), 1.0);
        return suanli_cubic(SL_MUL(s, SL_SUB(i, ratio)), a);
    }
    if (p.mode == 1) return k == 0 ? SL_SUB(1.0, ratio) : ratio;
    double d = k == 0 ? ratio + 1.0 : (k == 1 ? ratio : (k == 2 ? SL_SUB(1.0, ratio) : SL_SUB(2.0, ratio)));
    return suanli_cubic(d, a);
}

extern "C" __global__ void suanli_resize_axis(const SuanliResizeParams p, const X* __restrict__ x, Y* __restrict__ y) {
    double scale = __longlong_as_double(p.scale);
    long long last = p.in_len - 1;
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < p.n; i += step) {
        long long r = i % p.inner, rest = i / p.inner;
        long long yo = rest % p.out_len, o = rest / p.out_len;
        bool outside;
        double xs = suanli_source_coord(p, (double)yo, &outside);
        double v = 0.0;
        if (outside) {
            v = __longlong_as_double(p.extrapolation);
        } else {
            double xi = floor(xs);
            double ratio = xs == xi ? 1.0 : SL_SUB(xs, xi);
            long long n, kstart;
            suanli_tap_count(p, scale, &n, &kstart);
            long long pad = (n + 1) / 2;
            double xp = SL_ADD(xs, (double)pad);
            double pf = floor(xp);
            double frac = SL_SUB(xp, pf);
            long long off = n % 2 == 0 ? (frac == 0.0 ? -(n / 2) : -(n / 2) + 1)
                                       : (frac <= 0.5 ? -((n - 1) / 2) : -((n - 1) / 2) + 1);
            long long first = (long long)pf + off - pad;
            // Normalisations in the CPU's order: antialias taps by their sum, then (with
            // exclude_outside) the taps inside the input by theirs.
            double s1 = 1.0, s2 = 1.0;
            if (p.mode != 0 && p.antialias) {
                double s = 0.0;
                for (long long k = 0; k < n; ++k) s = SL_ADD(s, suanli_coeff(p, ratio, scale, k, kstart));
                if (s != 0.0) s1 = s;
            }
            if (p.exclude_outside) {
                double s = 0.0;
                for (long long k = 0; k < n; ++k) {
                    long long idx = first + k;
                    if (idx >= 0 && idx <= last) s = SL_ADD(s, suanli_coeff(p, ratio, scale, k, kstart) / s1);
                }
                if (s != 0.0) s2 = s;
            }
            const X* xp0 = x + o * p.in_len * p.inner + r;
            for (long long k = 0; k < n; ++k) {
                long long idx = first + k;
                double w = suanli_coeff(p, ratio, scale, k, kstart);
                if (p.mode != 0 && p.antialias) w = w / s1;
                if (p.exclude_outside) w = (idx >= 0 && idx <= last) ? w / s2 : 0.0;
                if (w == 0.0) continue;
                idx = idx < 0 ? 0 : (idx > last ? last : idx);
                v = SL_ADD(v, SL_MUL(w, (double)X_ld(xp0[idx * p.inner])));
            }
        }
        if (p.round_int) {
            v = rint(v);
            if (v != v) v = 0.0;
            v = fmin(fmax(v, __longlong_as_double(p.lo)), __longlong_as_double(p.hi));
        }
        y[i] = Y_st((Y_acc)v);
    }
}
