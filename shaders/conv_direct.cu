// Direct convolution, one thread per output element: for depthwise and other convolutions with
// few output channels per group, where a GEMM would be mostly idle. Bias, residual and
// activation are applied on the way out (`suanli_act` comes from the epilogue source before
// this text).
struct SuanliConvParams {
    long long n, c, m, group;
    // Per spatial dim (3, leading extents 1): input, output and kernel extents, strides,
    // dilations, pads before.
    long long in[3], out[3], k[3], s[3], d[3], pb[3];
};

extern "C" __global__ void suanli_conv_direct(const SuanliConvParams p, const T* __restrict__ x,
                                              const T* __restrict__ w, const T* __restrict__ bias,
                                              const T* __restrict__ res, T* __restrict__ y, int flags,
                                              int act, float a, float b) {
    long long cg = p.c / p.group, mg = p.m / p.group;
    long long in_sz = p.in[0] * p.in[1] * p.in[2];
    long long out_sz = p.out[0] * p.out[1] * p.out[2];
    long long total = p.n * p.m * out_sz;
    long long step = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += step) {
        long long o = i % out_sz, ch = (i / out_sz) % p.m, img = i / (out_sz * p.m);
        long long g = ch / mg;
        long long ow = o % p.out[2], oh = (o / p.out[2]) % p.out[1], od = o / (p.out[2] * p.out[1]);
        long long id0 = od * p.s[0] - p.pb[0], ih0 = oh * p.s[1] - p.pb[1], iw0 = ow * p.s[2] - p.pb[2];
        const T* wp = w + ch * cg * p.k[0] * p.k[1] * p.k[2];
        T_acc acc = (T_acc)0;
        for (long long c = 0; c < cg; ++c) {
            const T* xc = x + (img * p.c + g * cg + c) * in_sz;
            for (long long kd = 0; kd < p.k[0]; ++kd) {
                long long id = id0 + kd * p.d[0];
                bool dok = id >= 0 && id < p.in[0];
                for (long long kh = 0; kh < p.k[1]; ++kh) {
                    long long ih = ih0 + kh * p.d[1];
                    bool hok = dok && ih >= 0 && ih < p.in[1];
                    for (long long kw = 0; kw < p.k[2]; ++kw) {
                        long long iw = iw0 + kw * p.d[2];
                        if (hok && iw >= 0 && iw < p.in[2]) {
                            acc += T_ld(*wp) * T_ld(xc[(id * p.in[1] + ih) * p.in[2] + iw]);
                        }
                        ++wp;
                    }
                }
            }
        }
        if (flags & 1) acc += T_ld(bias[ch]);
        if (flags & 2) acc += T_ld(res[i]);
        y[i] = T_st(act == 0 ? acc : (T_acc)suanli_act((float)acc, act, a, b));
    }
}
