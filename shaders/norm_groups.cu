// Layer, RMS, Instance and Group normalisation over contiguous groups of len elements, one
// group per output of the reduction machinery (reduce_axes.cu): moments in double in one pass
// (shifted by the group's first element when centring), then y = (x - mean) * inv_std *
// scale + bias in T_acc. Element e of group g takes its scale and bias at
// p = ((g % cycle) * len + e) / rep, mapped through broadcast strides when nd > 0.
// The header defines SUANLI_CENTER (0 for RMS), SUANLI_BIAS, SUANLI_STATS (LayerNorm's mean
// and inverse std outputs, f32) and the aliases T (element), TS (scale), TB (bias).

struct GroupsP {
    long long groups, len, cycle, rep, nd;
    long long bd[SUANLI_MAX_DIMS], ss[SUANLI_MAX_DIMS], bs[SUANLI_MAX_DIMS];

    __device__ __forceinline__ long long outputs() const { return groups; }
    __device__ __forceinline__ long long reduced() const { return len; }
    __device__ __forceinline__ long long base(long long g) const { return g * len; }
    __device__ __forceinline__ long long off(long long r) const { return r; }
};

typedef SuanliMoments<SUANLI_CENTER != 0> St;

struct SuanliGroupsFin {
    const T* x;
    const TS* scale;
    const TB* bias;
    T* y;
    float* mean_out;
    float* inv_out;
    double eps;
    template <class L>
    __device__ __forceinline__ void operator()(const L& q, const St& t, long long g, long long base, int rl, int rt,
                                               bool valid) {
        if (!valid) return;
        const double n = (double)q.len;
        const double mean = SUANLI_CENTER ? t.mean(n) : 0.0;
        const double var = SUANLI_CENTER ? t.var(n) : t.q / n;
        const double inv = 1.0 / sqrt(var + eps);
        if (SUANLI_STATS && rl == 0) {
            mean_out[g] = (float)mean;
            inv_out[g] = (float)inv;
        }
        const T_acc m = (T_acc)mean, iv = (T_acc)inv;
        const long long pbase = (g % q.cycle) * q.len;
        for (long long e = rl; e < q.len; e += rt) {
            long long p = q.rep == 1 ? pbase + e : (pbase + e) / q.rep;
            long long os = p, ob = p;
            if (q.nd > 0) {
                os = 0;
                ob = 0;
#pragma unroll
                for (int i = SUANLI_MAX_DIMS - 1; i >= 0; --i) {
                    if (i < q.nd) {
                        const long long c = p % q.bd[i];
                        os += c * q.ss[i];
                        ob += c * q.bs[i];
                        p /= q.bd[i];
                    }
                }
            }
            T_acc v = (T_ld(x[base + e]) - m) * iv * (T_acc)TS_ld(scale[os]);
            if (SUANLI_BIAS) v += (T_acc)TB_ld(bias[ob]);
            y[base + e] = T_st(v);
        }
    }
};

// Absent bias or statistics are passed as some other buffer and never touched.
extern "C" __global__ void suanli_norm_groups(const GroupsP q, const T* __restrict__ x, const TS* __restrict__ scale,
                                              const TB* __restrict__ bias, T* __restrict__ y, float* __restrict__ mean,
                                              float* __restrict__ inv_std, float eps, int rt, int mode) {
    SuanliGroupsFin fin{x, scale, bias, y, mean, inv_std, (double)eps};
    suanli_axes<St>(q, x, rt, mode, fin);
}
