// Reduce*: one value per output over the reduced elements (machinery in reduce_axes.cu).
// The header defines SUANLI_KIND (0 Sum, 1 Mean, 2 Max, 3 Min, 4 Prod, 5 L1, 6 L2, 7 LogSum,
// 8 LogSumExp, 9 SumSquare), SUANLI_T_INT (1 when T is an integer type) and the aliases T
// (element) and A (accumulator of the sum-like kinds: double for float T, long long for
// integer T, wrapping like the CPU's i64 accumulator). Max and Min compare in T_acc; LogSumExp
// accumulates in double for every T, like the CPU.

__device__ __forceinline__ double suanli_add(double a, double b) { return a + b; }
__device__ __forceinline__ long long suanli_add(long long a, long long b) {
    return (long long)((unsigned long long)a + (unsigned long long)b);
}
__device__ __forceinline__ double suanli_mul(double a, double b) { return a * b; }
__device__ __forceinline__ long long suanli_mul(long long a, long long b) {
    return (long long)((unsigned long long)a * (unsigned long long)b);
}
__device__ __forceinline__ double suanli_abs(double a) { return fabs(a); }
__device__ __forceinline__ long long suanli_abs(long long a) {
    return a < 0 ? (long long)(0ull - (unsigned long long)a) : a;
}
// A double back into the accumulator: integers saturate and NaN gives 0 (Rust's `as`).
__device__ __forceinline__ double suanli_from_f64(double v, double) { return v; }
__device__ __forceinline__ long long suanli_from_f64(double v, long long) {
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return 9223372036854775807LL;
    if (v <= -9223372036854775808.0) return -9223372036854775807LL - 1;
    return (long long)v;
}
// A double into T: rounding for floats, saturating for integers (Rust's `as`).
__device__ __forceinline__ T suanli_store_f64(double v) {
#if SUANLI_T_INT
    if (v != v) return (T)0;
    if (v <= (double)T_lowest()) return (T)T_lowest();
    if (v >= (double)T_highest()) return (T)T_highest();
    return (T)v;
#else
    return T_st((T_acc)v);
#endif
}

#if SUANLI_KIND == 2 || SUANLI_KIND == 3
// Max / Min: the extreme element; a NaN wins and stays.
struct St {
    T_acc v;
    __device__ __forceinline__ void pick(T_acc c) {
        if (suanli_isnan(v)) return;
        if (suanli_isnan(c) || (SUANLI_KIND == 2 ? c > v : c < v)) v = c;
    }
    __device__ __forceinline__ void init(const T*, long long, bool) {
        v = SUANLI_KIND == 2 ? T_lowest() : T_highest();
    }
    __device__ __forceinline__ void push(T x, long long) { pick(T_ld(x)); }
    __device__ __forceinline__ void merge(const St& o) { pick(o.v); }
    __device__ __forceinline__ St shfl_down(int d) const {
        St r;
        r.v = suanli_shd(v, d);
        return r;
    }
    __device__ __forceinline__ T result(long long) const { return T_st(v); }
};
#elif SUANLI_KIND == 8
// LogSumExp, online: s = sum of exp(x - shift(m)) where m is the largest finite element and
// shift(m) is m, or 0 while there is none (infinite elements do not shift, as on the CPU);
// +inf elements are counted apart so that rescaling never multiplies them by 0.
__device__ __forceinline__ double suanli_shift(double m) { return m == -__longlong_as_double(0x7ff0000000000000LL) ? 0.0 : m; }
__device__ __forceinline__ double suanli_rescale(double s, double from, double to) {
    return s == 0.0 ? 0.0 : s * exp(suanli_shift(from) - suanli_shift(to));
}
struct St {
    double m, s;
    int inf;
    __device__ __forceinline__ void init(const T*, long long, bool) {
        m = -__longlong_as_double(0x7ff0000000000000LL);
        s = 0.0;
        inf = 0;
    }
    __device__ __forceinline__ void push(T x, long long) {
        const double v = (double)T_ld(x);
        if (v != v) {
            s = v;
        } else if (isinf(v)) {
            if (v > 0.0) inf = 1;
        } else {
            if (v > m) {
                s = suanli_rescale(s, m, v);
                m = v;
            }
            s += exp(v - suanli_shift(m));
        }
    }
    __device__ __forceinline__ void merge(const St& o) {
        if (o.m > m) {
            s = suanli_rescale(s, m, o.m) + o.s;
            m = o.m;
        } else {
            s += suanli_rescale(o.s, o.m, m);
        }
        inf |= o.inf;
    }
    __device__ __forceinline__ St shfl_down(int d) const {
        St r;
        r.m = suanli_shd(m, d);
        r.s = suanli_shd(s, d);
        r.inf = suanli_shd(inf, d);
        return r;
    }
    __device__ __forceinline__ T result(long long) const {
        const double inf_v = __longlong_as_double(0x7ff0000000000000LL);
        return suanli_store_f64(s != s ? s : inf ? inf_v : log(s) + suanli_shift(m));
    }
};
#else
// Sum-like kinds and Prod in the accumulator A.
struct St {
    A a;
    __device__ __forceinline__ void init(const T*, long long, bool) { a = SUANLI_KIND == 4 ? (A)1 : (A)0; }
    __device__ __forceinline__ void push(T x, long long) {
        A v = (A)T_ld(x);
        if (SUANLI_KIND == 5) v = suanli_abs(v);
        if (SUANLI_KIND == 6 || SUANLI_KIND == 9) v = suanli_mul(v, v);
        a = SUANLI_KIND == 4 ? suanli_mul(a, v) : suanli_add(a, v);
    }
    __device__ __forceinline__ void merge(const St& o) {
        a = SUANLI_KIND == 4 ? suanli_mul(a, o.a) : suanli_add(a, o.a);
    }
    __device__ __forceinline__ St shfl_down(int d) const {
        St r;
        r.a = suanli_shd(a, d);
        return r;
    }
    __device__ __forceinline__ T result(long long n) const {
        A v = a;
        if (SUANLI_KIND == 1) v = suanli_from_f64((double)a / (double)n, a);
        if (SUANLI_KIND == 6) v = suanli_from_f64(sqrt((double)a), a);
        if (SUANLI_KIND == 7) v = suanli_from_f64(log((double)a), a);
        return T_st((T_acc)v);
    }
};
#endif

struct SuanliReduceFin {
    T* y;
    template <class L>
    __device__ __forceinline__ void operator()(const L& lay, const St& t, long long o, long long, int rl, int,
                                               bool valid) {
        if (valid && rl == 0) y[o] = t.result(lay.reduced());
    }
};

extern "C" __global__ void suanli_reduce(const AxesP p, const T* __restrict__ x, T* __restrict__ y, int rt, int mode) {
    SuanliReduceFin fin{y};
    suanli_axes<St>(p, x, rt, mode, fin);
}
