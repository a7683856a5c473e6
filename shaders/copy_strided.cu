// Generic strided copy over element bits: T is the unsigned type of the element's width, so one
// source serves every dtype of that width. Output element i (row-major over the iteration dims)
// reads X[base + sum_d j_d * stride_d], where j_d = start_d + o_d * step_d remapped by the dim's
// mode, and lands at Y[dst_base + sum_d o_d * dst_stride_d]. Elements outside the source (mode
// 1) take the fill: the low bits of fill_bits when fill_mode is 1, else F[0].
struct SuanliCopyParams {
    long long n, rank, base, dst_base, fill_mode, fill_bits;
    // Per dim, innermost first: extent, source stride, start, step, source length,
    // mode (0 direct, 1 fill outside 0..len, 2 edge, 3 reflect, 4 wrap), destination stride.
    long long dim[8][7];
};

template <typename U>
__device__ __forceinline__ void suanli_copy_one(const SuanliCopyParams& p, U i, const T* __restrict__ x,
                                                const T* __restrict__ f, T* __restrict__ y) {
    U rem = i;
    long long src = p.base, dst = p.dst_base;
    bool inside = true;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
        if (k < p.rank) {
            U n = (U)p.dim[k][0];
            long long o = (long long)(rem % n);
            rem /= n;
            long long j = p.dim[k][2] + o * p.dim[k][3];
            long long len = p.dim[k][4];
            switch (p.dim[k][5]) {
            case 1:
                if (j < 0 || j >= len) inside = false;
                break;
            case 2:
                j = j < 0 ? 0 : (j >= len ? len - 1 : j);
                break;
            case 3:
                if (len <= 1) {
                    j = 0;
                } else {
                    long long q = 2 * (len - 1);
                    long long r = ((j % q) + q) % q;
                    j = r < len ? r : q - r;
                }
                break;
            case 4:
                j = ((j % len) + len) % len;
                break;
            default:
                break;
            }
            src += j * p.dim[k][1];
            dst += o * p.dim[k][6];
        }
    }
    y[dst] = inside ? x[src] : (p.fill_mode ? (T)p.fill_bits : f[0]);
}

extern "C" __global__ void suanli_copy_strided(const SuanliCopyParams p, const T* __restrict__ x,
                                               const T* __restrict__ f, T* __restrict__ y) {
    long long start = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    long long step = (long long)gridDim.x * blockDim.x;
    if (p.n <= 0x7fffffffLL) {
        // 32-bit index arithmetic where it fits (64-bit division is several times slower).
        for (long long i = start; i < p.n; i += step) suanli_copy_one<unsigned int>(p, (unsigned int)i, x, f, y);
    } else {
        for (long long i = start; i < p.n; i += step) suanli_copy_one<unsigned long long>(p, (unsigned long long)i, x, f, y);
    }
}
