// suanli elementwise program (bool, f32, f32) -> (f32, bool), CUDA C for NVRTC.
struct SuanliEwParams {
    long long n;
    long long rank;
    long long strided;
    long long dims[8];
    long long strides[3][8];
};


static __device__ __forceinline__ void suanli_ew_point(long long i, long long o0, long long o1, long long o2, const unsigned char* __restrict__ in0, const float* __restrict__ in1, const float* __restrict__ in2, float* __restrict__ out0, unsigned char* __restrict__ out1) {
    const bool r0 = (in0[o0] != 0);
    const float r1 = in1[o1];
    const float r2 = in2[o2];
    const float r3 = r0 ? r1 : r2;
    const bool r4 = !r0;
    out0[i] = r3;
    out1[i] = (unsigned char)(r4 ? 1 : 0);
}

extern "C" __global__ void suanli_ew(const SuanliEwParams p, const unsigned char* __restrict__ in0, const float* __restrict__ in1, const float* __restrict__ in2, float* __restrict__ out0, unsigned char* __restrict__ out1) {
    const long long step = (long long)gridDim.x * blockDim.x;
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (p.strided == 0) {
        for (; i < p.n; i += step) suanli_ew_point(i, i, i, i, in0, in1, in2, out0, out1);
        return;
    }
    if (p.n <= 0xffffffffLL) {
        for (; i < p.n; i += step) {
            unsigned int rem = (unsigned int)i;
            long long a0 = 0, a1 = 0, a2 = 0;
#pragma unroll
            for (int d = 7; d >= 0; --d) {
                if (d < p.rank) {
                    const unsigned int dim = (unsigned int)p.dims[d];
                    const unsigned int c = d == 0 ? rem : rem % dim;
                    rem /= dim;
                    a0 += (long long)c * p.strides[0][d];
                    a1 += (long long)c * p.strides[1][d];
                    a2 += (long long)c * p.strides[2][d];
                }
            }
            suanli_ew_point(i, (p.strided & (1LL << 0)) ? a0 : i, (p.strided & (1LL << 1)) ? a1 : i, (p.strided & (1LL << 2)) ? a2 : i, in0, in1, in2, out0, out1);
        }
        return;
    }
    for (; i < p.n; i += step) {
        long long rem = i;
        long long a0 = 0, a1 = 0, a2 = 0;
#pragma unroll
        for (int d = 7; d >= 0; --d) {
            if (d < p.rank) {
                const long long dim = p.dims[d];
                const long long c = d == 0 ? rem : rem % dim;
                rem /= dim;
                a0 += c * p.strides[0][d];
                a1 += c * p.strides[1][d];
                a2 += c * p.strides[2][d];
            }
        }
        suanli_ew_point(i, (p.strided & (1LL << 0)) ? a0 : i, (p.strided & (1LL << 1)) ? a1 : i, (p.strided & (1LL << 2)) ? a2 : i, in0, in1, in2, out0, out1);
    }
}
