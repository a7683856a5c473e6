// MeanVarianceNormalization over an axis set: y = (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)
// per output of the reduction machinery (reduce_axes.cu), every reduced element rewritten.
// Moments and the result in double, like the CPU. The header defines the alias T.

typedef SuanliMoments<true> St;

struct SuanliMvnFin {
    const T* x;
    T* y;
    template <class L>
    __device__ __forceinline__ void operator()(const L& lay, const St& t, long long, long long base, int rl, int rt,
                                               bool valid) {
        if (!valid) return;
        const long long red = lay.reduced();
        const double n = (double)red;
        const double mean = t.mean(n);
        const double inv = 1.0 / (sqrt(t.var(n)) + 1e-9);
        for (long long r = rl; r < red; r += rt) {
            const long long i = base + lay.off(r);
            y[i] = T_st((T_acc)(((double)T_ld(x[i]) - mean) * inv));
        }
    }
};

extern "C" __global__ void suanli_mvn(const AxesP p, const T* __restrict__ x, T* __restrict__ y, int rt, int mode) {
    SuanliMvnFin fin{x, y};
    suanli_axes<St>(p, x, rt, mode, fin);
}
