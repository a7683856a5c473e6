// EyeLike: Y[r, c] = one (the bits of 1 in the output dtype) where c - r == k, else 0.
extern "C" __global__ void suanli_eye(T* __restrict__ y, long long n, long long cols, long long k,
                                      long long one_bits) {
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += step) {
        long long c = i % cols, r = i / cols;
        y[i] = c - r == k ? (T)one_bits : (T)0;
    }
}
