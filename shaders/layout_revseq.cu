// ReverseSequence over dims 0 and 1: for batch entry b with length L (clamped to 0..=time),
// time steps t < L read step L - 1 - t; the rest are copied. I is the lengths' dtype.
extern "C" __global__ void suanli_reverse_sequence(const T* __restrict__ x, const I* __restrict__ lens,
                                                   T* __restrict__ y, long long n, long long d0,
                                                   long long d1, long long inner, int batch_first) {
    long long step = (long long)gridDim.x * blockDim.x;
    long long time = batch_first ? d1 : d0;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += step) {
        long long r = i % inner, rest = i / inner;
        long long i1 = rest % d1, i0 = rest / d1;
        long long b = batch_first ? i0 : i1, t = batch_first ? i1 : i0;
        long long len = (long long)I_ld(lens[b]);
        len = len < 0 ? 0 : (len > time ? time : len);
        long long t2 = t < len ? len - 1 - t : t;
        long long src = batch_first ? b * d1 + t2 : t2 * d1 + b;
        y[i] = x[src * inner + r];
    }
}
