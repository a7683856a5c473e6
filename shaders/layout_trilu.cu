// Trilu over the last two dims: keep X where col - row >= k (upper) or <= k (lower), else 0
// (all-zero bits are zero in every dtype).
extern "C" __global__ void suanli_trilu(const T* __restrict__ x, T* __restrict__ y, long long n,
                                        long long rows, long long cols, long long k, int upper) {
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += step) {
        long long c = i % cols, r = (i / cols) % rows;
        long long d = c - r;
        bool keep = upper ? d >= k : d <= k;
        y[i] = keep ? x[i] : (T)0;
    }
}
