// Gather along an axis: Y[o, j, r] = X[o, fix(IDX[j]), r].
extern "C" __global__ void suanli_gather(const T* __restrict__ x, const I* __restrict__ idx,
                                         T* __restrict__ y, long long n, long long inner,
                                         long long nidx, long long axis_len) {
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += step) {
        long long r = i % inner, rest = i / inner;
        long long j = rest % nidx, o = rest / nidx;
        y[i] = x[(o * axis_len + suanli_index(idx, j, axis_len)) * inner + r];
    }
}
