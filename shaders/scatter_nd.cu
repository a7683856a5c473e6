// ScatterND into Y (already a copy of the data): one thread per element r of a slice, applying
// every index tuple in order, so duplicates resolve like the CPU. `suanli_combine` (the
// reduction) is defined before this text.
struct SuanliScatterNdParams {
    long long chunk, k, tuples;
    // Per tuple position j: dim length, data stride.
    long long dim[8][2];
};

extern "C" __global__ void suanli_scatter_nd(const SuanliScatterNdParams p, const I* __restrict__ idx,
                                             const T* __restrict__ u, T* __restrict__ y) {
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long r = blockIdx.x * (long long)blockDim.x + threadIdx.x; r < p.chunk; r += step) {
        for (long long t = 0; t < p.tuples; ++t) {
            long long o = r;
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                if (j < p.k) o += suanli_index(idx, t * p.k + j, p.dim[j][0]) * p.dim[j][1];
            }
            y[o] = suanli_combine(y[o], u[t * p.chunk + r]);
        }
    }
}
