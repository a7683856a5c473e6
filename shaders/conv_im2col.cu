// im2col for one chunk of output columns: column q in q0..q0+ncols (over N * out positions,
// image-major) and row kk = (c, kd, kh, kw) of group g hold X[img, g*cg + c, patch] (0 in the
// padding). The element (g, kk, j = q - q0) lands at g*sg + kk*sk + (j / blk)*sb + j % blk, so
// one kernel writes both the [(n, g), kk, out] layout of a whole batch and the [g, kk, ncols]
// layout of a chunk.
struct SuanliConvParams {
    long long n, c, m, group;
    // Per spatial dim (3, leading extents 1): input, output and kernel extents, strides,
    // dilations, pads before.
    long long in[3], out[3], k[3], s[3], d[3], pb[3];
};

extern "C" __global__ void suanli_im2col(const SuanliConvParams p, const T* __restrict__ x, T* __restrict__ cols,
                                         long long q0, long long ncols, long long blk, long long sb,
                                         long long sg, long long sk) {
    long long ks = p.k[0] * p.k[1] * p.k[2];
    long long cg = p.c / p.group;
    long long kk_n = cg * ks;
    long long in_sz = p.in[0] * p.in[1] * p.in[2];
    long long out_sz = p.out[0] * p.out[1] * p.out[2];
    long long total = p.group * kk_n * ncols;
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += step) {
        long long j = i % ncols, r = i / ncols;
        long long kk = r % kk_n, g = r / kk_n;
        long long q = q0 + j;
        long long img = q / out_sz, o = q % out_sz;
        long long c = kk / ks, kr = kk % ks;
        long long kw = kr % p.k[2], kh = (kr / p.k[2]) % p.k[1], kd = kr / (p.k[2] * p.k[1]);
        long long ow = o % p.out[2], oh = (o / p.out[2]) % p.out[1], od = o / (p.out[2] * p.out[1]);
        long long id = od * p.s[0] - p.pb[0] + kd * p.d[0];
        long long ih = oh * p.s[1] - p.pb[1] + kh * p.d[1];
        long long iw = ow * p.s[2] - p.pb[2] + kw * p.d[2];
        bool inside = id >= 0 && id < p.in[0] && ih >= 0 && ih < p.in[1] && iw >= 0 && iw < p.in[2];
        T v = (T)0;
        if (inside) v = x[(img * p.c + g * cg + c) * in_sz + (id * p.in[1] + ih) * p.in[2] + iw];
        cols[g * sg + kk * sk + (j / blk) * sb + j % blk] = v;
    }
}
