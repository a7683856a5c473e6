// LRN across channels over an [N, C, spatial] tensor, one element per thread (grid-stride):
// y = x / (bias + alpha / size * sum of x^2)^beta over the channel window
// [c - (size-1)/2, c + size-1 - (size-1)/2] clipped to [0, C). The square sum is taken in
// double (exact for f32 squares, like the CPU), the power in T_acc. The header defines T.

__device__ __forceinline__ float suanli_pow(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double suanli_pow(double a, double b) { return pow(a, b); }

extern "C" __global__ void suanli_lrn(const T* __restrict__ x, T* __restrict__ y, long long n, long long c,
                                      long long sp, long long size, float alpha, float beta, float bias) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    const long long lo = (size - 1) / 2, hi = size - 1 - lo;
    const double scale = (double)alpha / (double)size;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const long long ch = (i / sp) % c;
        const long long first = i - ch * sp;
        const long long from = ch >= lo ? ch - lo : 0;
        const long long to = ch + hi < c - 1 ? ch + hi : c - 1;
        double sq = 0.0;
        for (long long k = from; k <= to; ++k) {
            const double v = (double)T_ld(x[first + k * sp]);
            sq += v * v;
        }
        const T_acc base = (T_acc)((double)bias + scale * sq);
        y[i] = T_st(T_ld(x[i]) / suanli_pow(base, (T_acc)beta));
    }
}
