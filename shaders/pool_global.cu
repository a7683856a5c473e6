// Global pooling (GlobalAveragePool, GlobalMaxPool, GlobalLpPool): one block of 256 threads
// per (n, c) plane (grid-stride over planes), partial results reduced in shared memory. KIND
// is defined before this text: 0 max (NaN-ignoring, like the CPU's fold), 1 average, 3 Lp.
#if KIND == 3
__device__ __forceinline__ float suanli_lp_pow(float a, float p) { return powf(fabsf(a), p); }
__device__ __forceinline__ double suanli_lp_pow(double a, float p) { return pow(fabs(a), (double)p); }
__device__ __forceinline__ float suanli_lp_root(float a, float p) { return powf(a, 1.0f / p); }
__device__ __forceinline__ double suanli_lp_root(double a, float p) { return pow(a, 1.0 / (double)p); }
#endif

extern "C" __global__ void suanli_global_pool(const T* __restrict__ x, T* __restrict__ y,
                                          long long planes, long long size, float pw) {
    __shared__ T_acc part[256];
    for (long long plane = blockIdx.x; plane < planes; plane += gridDim.x) {
        const T* xp = x + plane * size;
#if KIND == 0
        T_acc acc = T_lowest();
#else
        T_acc acc = (T_acc)0;
#endif
        for (long long j = threadIdx.x; j < size; j += blockDim.x) {
            T_acc v = T_ld(xp[j]);
#if KIND == 0
            acc = fmax(acc, v);
#elif KIND == 3
            acc += suanli_lp_pow(v, pw);
#else
            acc += v;
#endif
        }
        part[threadIdx.x] = acc;
        __syncthreads();
        for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) {
#if KIND == 0
                part[threadIdx.x] = fmax(part[threadIdx.x], part[threadIdx.x + s]);
#else
                part[threadIdx.x] += part[threadIdx.x + s];
#endif
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) {
            T_acc r = part[0];
#if KIND == 0
            y[plane] = T_st(r);
#elif KIND == 3
            y[plane] = T_st(suanli_lp_root(r, pw));
#else
            y[plane] = T_st(r / (T_acc)size);
#endif
        }
        __syncthreads();
    }
}
