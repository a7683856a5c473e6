// suanli elementwise program (i8, i8) -> (i8), CUDA C for NVRTC.
struct SuanliEwParams {
    long long n;
    long long rank;
    long long strided;
    long long dims[8];
    long long strides[2][8];
};

static __device__ __forceinline__ signed char sl_div_i8(signed char x, signed char y) { return y == 0 ? (signed char)0 : (signed char)(x / y); }
static __device__ __forceinline__ signed char sl_rem_i8(signed char x, signed char y) { return y == 0 ? (signed char)0 : (signed char)(x % y); }
static __device__ __forceinline__ signed char sl_mod_i8(signed char x, signed char y) {
    const signed char r = sl_rem_i8(x, y);
    return (r != 0 && ((r < 0) != (y < 0))) ? (signed char)((unsigned int)r + (unsigned int)y) : r;
}

static __device__ __forceinline__ void suanli_ew_point(long long i, long long o0, long long o1, const signed char* __restrict__ in0, const signed char* __restrict__ in1, signed char* __restrict__ out0) {
    const signed char r0 = in0[o0];
    const signed char r1 = in1[o1];
    const signed char r2 = (signed char)((unsigned int)r0 * (unsigned int)r1);
    const signed char r3 = sl_div_i8(r2, r1);
    const signed char r4 = sl_mod_i8(r3, r1);
    out0[i] = r4;
}

extern "C" __global__ void suanli_ew(const SuanliEwParams p, const signed char* __restrict__ in0, const signed char* __restrict__ in1, signed char* __restrict__ out0) {
    const long long step = (long long)gridDim.x * blockDim.x;
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (p.strided == 0) {
        for (; i < p.n; i += step) suanli_ew_point(i, i, i, in0, in1, out0);
        return;
    }
    if (p.n <= 0xffffffffLL) {
        for (; i < p.n; i += step) {
            unsigned int rem = (unsigned int)i;
            long long a0 = 0, a1 = 0;
#pragma unroll
            for (int d = 7; d >= 0; --d) {
                if (d < p.rank) {
                    const unsigned int dim = (unsigned int)p.dims[d];
                    const unsigned int c = d == 0 ? rem : rem % dim;
                    rem /= dim;
                    a0 += (long long)c * p.strides[0][d];
                    a1 += (long long)c * p.strides[1][d];
                }
            }
            suanli_ew_point(i, (p.strided & (1LL << 0)) ? a0 : i, (p.strided & (1LL << 1)) ? a1 : i, in0, in1, out0);
        }
        return;
    }
    for (; i < p.n; i += step) {
        long long rem = i;
        long long a0 = 0, a1 = 0;
#pragma unroll
        for (int d = 7; d >= 0; --d) {
            if (d < p.rank) {
                const long long dim = p.dims[d];
                const long long c = d == 0 ? rem : rem % dim;
                rem /= dim;
                a0 += c * p.strides[0][d];
                a1 += c * p.strides[1][d];
            }
        }
        suanli_ew_point(i, (p.strided & (1LL << 0)) ? a0 : i, (p.strided & (1LL << 1)) ? a1 : i, in0, in1, out0);
    }
}
