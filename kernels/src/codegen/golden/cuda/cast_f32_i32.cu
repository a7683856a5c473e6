// suanli elementwise program (f32) -> (i32), CUDA C for NVRTC.
struct SuanliEwParams {
    long long n;
    long long rank;
    long long strided;
    long long dims[8];
    long long strides[1][8];
};

static __device__ __forceinline__ int sl_f2i_i32(double x) {
    if (x != x) return 0;
    if (x <= (-2147483648.0)) return (-2147483647 - 1);
    if (x >= 2147483648.0) return 2147483647;
    return (int)x;
}

static __device__ __forceinline__ void suanli_ew_point(long long i, long long o0, const float* __restrict__ in0, int* __restrict__ out0) {
    const float r0 = in0[o0];
    const int r1 = sl_f2i_i32((double)r0);
    out0[i] = r1;
}

extern "C" __global__ void suanli_ew(const SuanliEwParams p, const float* __restrict__ in0, int* __restrict__ out0) {
    const long long step = (long long)gridDim.x * blockDim.x;
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (p.strided == 0) {
        for (; i < p.n; i += step) suanli_ew_point(i, i, in0, out0);
        return;
    }
    if (p.n <= 0xffffffffLL) {
        for (; i < p.n; i += step) {
            unsigned int rem = (unsigned int)i;
            long long a0 = 0;
#pragma unroll
            for (int d = 7; d >= 0; --d) {
                if (d < p.rank) {
                    const unsigned int dim = (unsigned int)p.dims[d];
                    const unsigned int c = d == 0 ? rem : rem % dim;
                    rem /= dim;
                    a0 += (long long)c * p.strides[0][d];
                }
            }
            suanli_ew_point(i, (p.strided & (1LL << 0)) ? a0 : i, in0, out0);
        }
        return;
    }
    for (; i < p.n; i += step) {
        long long rem = i;
        long long a0 = 0;
#pragma unroll
        for (int d = 7; d >= 0; --d) {
            if (d < p.rank) {
                const long long dim = p.dims[d];
                const long long c = d == 0 ? rem : rem % dim;
                rem /= dim;
                a0 += c * p.strides[0][d];
            }
        }
        suanli_ew_point(i, (p.strided & (1LL << 0)) ? a0 : i, in0, out0);
    }
}
