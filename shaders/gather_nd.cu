// GatherND: Y[t, r] = X[batch(t) * batch_stride + sum_j fix(IDX[t * k + j]) * stride_j + r].
struct SuanliGatherNdParams {
    long long n, chunk, k, per_batch, batch_stride;
    // Per tuple position j: dim length, data stride.
    long long dim[8][2];
};

extern "C" __global__ void suanli_gather_nd(const SuanliGatherNdParams p, const T* __restrict__ x,
                                            const I* __restrict__ idx, T* __restrict__ y) {
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < p.n; i += step) {
        long long t = i / p.chunk;
        long long src = (t / p.per_batch) * p.batch_stride + i % p.chunk;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            if (j < p.k) src += suanli_index(idx, t * p.k + j, p.dim[j][0]) * p.dim[j][1];
        }
        y[i] = x[src];
    }
}
