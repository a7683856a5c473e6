// Windowed pooling (MaxPool, AveragePool, LpPool), one thread per output element, over 3
// normalised spatial dims (leading extents 1). KIND is defined before this text: 0 max,
// 1 average excluding pads, 2 average including pads, 3 Lp. T_acc accumulates; an empty max
// window gives T_lowest() (index -1), an empty average NaN, like the CPU.
struct SuanliPoolParams {
    long long total, col_major, with_indices;
    // Per spatial dim: input, output and kernel extents, strides, dilations, pads before
    // and after.
    long long in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
};

#if KIND == 3
__device__ __forceinline__ float suanli_lp_pow(float a, float p) { return powf(fabsf(a), p); }
__device__ __forceinline__ double suanli_lp_pow(double a, float p) { return pow(fabs(a), (double)p); }
__device__ __forceinline__ float suanli_lp_root(float a, float p) { return powf(a, 1.0f / p); }
__device__ __forceinline__ double suanli_lp_root(double a, float p) { return pow(a, 1.0 / (double)p); }
#endif

// Window positions of one dim inside the explicitly padded range [-pb, n + pe).
__device__ __forceinline__ long long suanli_padded_count(long long start, long long k, long long d, long long pb,
                                                         long long n, long long pe) {
    long long c = 0;
    for (long long j = 0; j < k; ++j) {
        long long q = start + j * d;
        if (q >= -pb && q < n + pe) ++c;
    }
    return c;
}

extern "C" __global__ void suanli_pool(const SuanliPoolParams p, const T* __restrict__ x, T* __restrict__ y,
                                       long long* __restrict__ indices, float pw) {
    long long in_sz = p.in[0] * p.in[1] * p.in[2];
    long long out_sz = p.out[0] * p.out[1] * p.out[2];
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < p.total; i += step) {
        long long o = i % out_sz, plane = i / out_sz;
        long long ow = o % p.out[2], oh = (o / p.out[2]) % p.out[1], od = o / (p.out[2] * p.out[1]);
        long long sd = od * p.s[0] - p.pb[0], sh = oh * p.s[1] - p.pb[1], sw = ow * p.s[2] - p.pb[2];
        const T* xp = x + plane * in_sz;
#if KIND == 0
        T_acc best = T_lowest();
        bool found = false;
        long long bi = -1;
#else
        T_acc sum = (T_acc)0;
        long long n = 0;
#endif
        for (long long kd = 0; kd < p.k[0]; ++kd) {
            long long id = sd + kd * p.d[0];
            if (id < 0 || id >= p.in[0]) continue;
            for (long long kh = 0; kh < p.k[1]; ++kh) {
                long long ih = sh + kh * p.d[1];
                if (ih < 0 || ih >= p.in[1]) continue;
                for (long long kw = 0; kw < p.k[2]; ++kw) {
                    long long iw = sw + kw * p.d[2];
                    if (iw < 0 || iw >= p.in[2]) continue;
                    long long sp = (id * p.in[1] + ih) * p.in[2] + iw;
                    T_acc v = T_ld(xp[sp]);
#if KIND == 0
                    if (!found || v > best) {
                        best = v;
                        found = true;
                        bi = p.col_major ? id + ih * p.in[0] + iw * p.in[0] * p.in[1] : sp;
                    }
#elif KIND == 3
                    sum += suanli_lp_pow(v, pw);
#else
                    sum += v;
#endif
#if KIND != 0
                    ++n;
#endif
                }
            }
        }
#if KIND == 0
        y[i] = T_st(best);
        if (p.with_indices) indices[i] = plane * in_sz + bi;
#elif KIND == 3
        y[i] = T_st(suanli_lp_root(sum, pw));
#else
#if KIND == 2
        n = suanli_padded_count(sd, p.k[0], p.d[0], p.pb[0], p.in[0], p.pe[0]) *
            suanli_padded_count(sh, p.k[1], p.d[1], p.pb[1], p.in[1], p.pe[1]) *
            suanli_padded_count(sw, p.k[2], p.d[2], p.pb[2], p.in[2], p.pe[2]);
#endif
        y[i] = T_st(n == 0 ? (T_acc)nan("") : sum / (T_acc)n);
#endif
    }
}
