// Conv write-back of a chunk computed into scratch: S is [M, ncols] (channel-major over the
// chunk's columns q0..q0+ncols); Y[img, ch, o] = act(S[ch, j] + bias[ch] + res[img, ch, o]) for
// q = q0 + j = img * out_sz + o. `suanli_act` comes from the epilogue source before this text.
extern "C" __global__ void suanli_conv_store(const T* __restrict__ s, const T* __restrict__ bias,
                                             const T* __restrict__ res, T* __restrict__ y, long long q0,
                                             long long ncols, long long m, long long out_sz, int flags,
                                             int act, float a, float b) {
    long long total = m * ncols;
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += step) {
        long long j = i % ncols, ch = i / ncols;
        long long q = q0 + j;
        long long yi = ((q / out_sz) * m + ch) * out_sz + q % out_sz;
        T_acc v = T_ld(s[i]);
        if (flags & 1) v += T_ld(bias[ch]);
        if (flags & 2) v += T_ld(res[yi]);
        y[yi] = T_st(act == 0 ? v : (T_acc)suanli_act((float)v, act, a, b));
    }
}
