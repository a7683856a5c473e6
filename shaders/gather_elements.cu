// GatherElements: Y[p] = X[p with p[axis] replaced by fix(IDX[p])].
struct SuanliGatherElementsParams {
    long long n, rank, axis, axis_len;
    // Per dim, innermost first: index extent, data stride (`axis` counts innermost first too).
    long long dim[8][2];
};

extern "C" __global__ void suanli_gather_elements(const SuanliGatherElementsParams p, const T* __restrict__ x,
                                                  const I* __restrict__ idx, T* __restrict__ y) {
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < p.n; i += step) {
        long long rem = i, src = 0;
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            if (k < p.rank) {
                long long o = rem % p.dim[k][0];
                rem /= p.dim[k][0];
                src += (k == p.axis ? suanli_index(idx, i, p.axis_len) : o) * p.dim[k][1];
            }
        }
        y[i] = x[src];
    }
}
