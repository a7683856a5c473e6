// Softmax, LogSoftmax, Hardmax and Lp-normalisation along one axis: each output of the layout
// is a lane whose reduced elements are rewritten in place of the single value a reduction
// would store (machinery in reduce_axes.cu). The header defines SUANLI_LANE (0 softmax,
// 1 log-softmax, 2 hardmax, 3 L1-normalise, 4 L2-normalise) and the alias T. Softmax runs in
// T_acc (float for f32/f16/bf16, double for f64) like the CPU; Lp norms accumulate in double.

__device__ __forceinline__ float suanli_exp(float v) { return expf(v); }
__device__ __forceinline__ double suanli_exp(double v) { return exp(v); }
__device__ __forceinline__ float suanli_log(float v) { return logf(v); }
__device__ __forceinline__ double suanli_log(double v) { return log(v); }

#if SUANLI_LANE <= 1
// Online softmax statistics: m the largest element (NaN-ignoring), s = sum of exp(x - m).
// -inf elements add nothing; NaN and +inf make s NaN, as the two passes on the CPU do.
__device__ __forceinline__ T_acc suanli_rescale(T_acc s, T_acc from, T_acc to) {
    return s == T_acc(0) ? T_acc(0) : s * suanli_exp(from - to);
}
struct St {
    T_acc m, s;
    __device__ __forceinline__ void init(const T*, long long, bool) {
        m = T_lowest();
        s = T_acc(0);
    }
    __device__ __forceinline__ void push(T xv, long long) {
        const T_acc v = T_ld(xv);
        if (v == T_lowest()) return;
        if (v > m) {
            s = suanli_rescale(s, m, v);
            m = v;
        }
        s += suanli_exp(v - m);
    }
    __device__ __forceinline__ void merge(const St& o) {
        if (o.m > m) {
            s = suanli_rescale(s, m, o.m) + o.s;
            m = o.m;
        } else {
            s += suanli_rescale(o.s, o.m, m);
        }
    }
    __device__ __forceinline__ St shfl_down(int d) const {
        St r;
        r.m = suanli_shd(m, d);
        r.s = suanli_shd(s, d);
        return r;
    }
};
#elif SUANLI_LANE == 2
// Hardmax: the first maximum, a NaN counting as the maximum.
typedef SuanliArgState<true, false> St;
#else
struct St {
    double s;
    __device__ __forceinline__ void init(const T*, long long, bool) { s = 0.0; }
    __device__ __forceinline__ void push(T xv, long long) {
        const double v = (double)T_ld(xv);
        s += SUANLI_LANE == 3 ? fabs(v) : v * v;
    }
    __device__ __forceinline__ void merge(const St& o) { s += o.s; }
    __device__ __forceinline__ St shfl_down(int d) const {
        St r;
        r.s = suanli_shd(s, d);
        return r;
    }
};
#endif

struct SuanliLaneFin {
    const T* x;
    T* y;
    template <class L>
    __device__ __forceinline__ void operator()(const L& lay, const St& t, long long, long long base, int rl, int rt,
                                               bool valid) {
        if (!valid) return;
        const long long n = lay.reduced();
#if SUANLI_LANE == 0
        const T_acc inv = T_acc(1) / t.s;
        for (long long r = rl; r < n; r += rt) {
            const long long i = base + lay.off(r);
            y[i] = T_st(suanli_exp(T_ld(x[i]) - t.m) * inv);
        }
#elif SUANLI_LANE == 1
        const T_acc shift = t.m + suanli_log(t.s);
        for (long long r = rl; r < n; r += rt) {
            const long long i = base + lay.off(r);
            y[i] = T_st(T_ld(x[i]) - shift);
        }
#elif SUANLI_LANE == 2
        for (long long r = rl; r < n; r += rt) y[base + lay.off(r)] = T_st(r == t.i ? T_acc(1) : T_acc(0));
#else
        const double norm = SUANLI_LANE == 4 ? sqrt(t.s) : t.s;
        for (long long r = rl; r < n; r += rt) {
            const long long i = base + lay.off(r);
            y[i] = T_st((T_acc)(norm == 0.0 ? 0.0 : (double)T_ld(x[i]) / norm));
        }
#endif
    }
};

extern "C" __global__ void suanli_lane(const AxesP p, const T* __restrict__ x, T* __restrict__ y, int rt, int mode) {
    SuanliLaneFin fin{x, y};
    suanli_axes<St>(p, x, rt, mode, fin);
}
