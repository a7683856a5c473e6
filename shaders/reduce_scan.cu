// CumSum / CumProd along one axis of an [outer, n, inner] view; a lane is one (outer, inner)
// pair, its elements inner apart. The header defines SUANLI_PROD, SUANLI_EXCLUSIVE,
// SUANLI_REVERSE and the aliases T (element) and A (accumulator: double for float T, long long
// for integer T with wrapping arithmetic, like the CPU's f64 / i64 accumulators).
//   mode 0: one thread per lane scanning in order (adjacent threads on adjacent lanes).
//   mode 1: one block per lane (blockDim.x a multiple of 32), chunks of blockDim.x elements
//     scanned with __shfl_up_sync within warps and the warp totals through shared memory,
//     carried from chunk to chunk.

__device__ __forceinline__ double suanli_op(double a, double b) { return SUANLI_PROD ? a * b : a + b; }
__device__ __forceinline__ long long suanli_op(long long a, long long b) {
    const unsigned long long x = (unsigned long long)a, y = (unsigned long long)b;
    return (long long)(SUANLI_PROD ? x * y : x + y);
}

extern "C" __global__ void suanli_scan(const T* __restrict__ x, T* __restrict__ y, long long lanes, long long n,
                                       long long inner, int mode) {
    const A ident = SUANLI_PROD ? (A)1 : (A)0;
    if (mode == 0) {
        const long long stride = (long long)gridDim.x * blockDim.x;
        for (long long l = (long long)blockIdx.x * blockDim.x + threadIdx.x; l < lanes; l += stride) {
            const long long base = (l / inner) * n * inner + l % inner;
            A acc = ident;
            for (long long step = 0; step < n; ++step) {
                const long long i = base + (SUANLI_REVERSE ? n - 1 - step : step) * inner;
                const A v = (A)T_ld(x[i]);
                if (SUANLI_EXCLUSIVE) y[i] = T_st((T_acc)acc);
                acc = suanli_op(acc, v);
                if (!SUANLI_EXCLUSIVE) y[i] = T_st((T_acc)acc);
            }
        }
        return;
    }
    __shared__ A warp_tot[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (long long l = blockIdx.x; l < lanes; l += gridDim.x) {
        const long long base = (l / inner) * n * inner + l % inner;
        A carry = ident;
        for (long long c0 = 0; c0 < n; c0 += blockDim.x) {
            const long long step = c0 + threadIdx.x;
            const bool have = step < n;
            const long long i = base + (SUANLI_REVERSE ? n - 1 - step : step) * inner;
            const A v = have ? (A)T_ld(x[i]) : ident;
            // Inclusive scan within the warp.
            A inc = v;
            for (int d = 1; d < 32; d <<= 1) {
                const A u = __shfl_up_sync(0xffffffffu, inc, d);
                if (lane >= d) inc = suanli_op(u, inc);
            }
            if (lane == 31) warp_tot[warp] = inc;
            __syncthreads();
            if (warp == 0) {
                A w = lane < warps ? warp_tot[lane] : ident;
                for (int d = 1; d < 32; d <<= 1) {
                    const A u = __shfl_up_sync(0xffffffffu, w, d);
                    if (lane >= d) w = suanli_op(u, w);
                }
                if (lane < warps) warp_tot[lane] = w;
            }
            __syncthreads();
            const A before = suanli_op(carry, warp > 0 ? warp_tot[warp - 1] : ident);
            const A prev = __shfl_up_sync(0xffffffffu, inc, 1);
            const A out = SUANLI_EXCLUSIVE ? (lane > 0 ? suanli_op(before, prev) : before) : suanli_op(before, inc);
            if (have) y[i] = T_st((T_acc)out);
            carry = suanli_op(carry, warp_tot[warps - 1]);
            __syncthreads();
        }
    }
}
