// An index into a dim of length n (n >= 1): negative values count from the end; out-of-range
// values, which the CPU rejects, are clamped so that no read or write leaves the buffer.
__device__ __forceinline__ long long suanli_fix_index(long long v, long long n) {
    if (v < 0) v += n;
    return v < 0 ? 0 : (v >= n ? n - 1 : v);
}
__device__ __forceinline__ long long suanli_index(const I* __restrict__ idx, long long j, long long n) {
    return suanli_fix_index((long long)I_ld(idx[j]), n);
}
