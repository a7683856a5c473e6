// OneHot: Y[o, d, r] = V[1] where IDX[o, r] (truncated to an integer, wrapped into 0..depth)
// equals d, else V[0].
extern "C" __global__ void suanli_one_hot(const I* __restrict__ idx, const T* __restrict__ v,
                                          T* __restrict__ y, long long n, long long inner, long long depth) {
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += step) {
        long long r = i % inner, rest = i / inner;
        long long d = rest % depth, o = rest / depth;
        long long k = (long long)I_ld(idx[o * inner + r]) % depth;
        if (k < 0) k += depth;
        y[i] = k == d ? v[1] : v[0];
    }
}
