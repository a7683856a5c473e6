// BatchNormalization (inference) over an [N, C, spatial] tensor in two kernels:
// suanli_bn_prep folds the per-channel parameters in double into ma = [mul[C], add[C]] with
// mul = scale / sqrt(var + eps) and add = bias - mean * mul (one thread per channel);
// suanli_bn_apply computes y = x * mul[c] + add[c] in T_acc, one element per thread
// (grid-stride). The header defines the aliases T (element), TS, TB, TM, TV (parameters).

extern "C" __global__ void suanli_bn_prep(const TS* __restrict__ scale, const TB* __restrict__ bias,
                                          const TM* __restrict__ mean, const TV* __restrict__ var,
                                          double* __restrict__ ma, long long c, float eps) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long ch = (long long)blockIdx.x * blockDim.x + threadIdx.x; ch < c; ch += stride) {
        const double mul = (double)TS_ld(scale[ch]) / sqrt((double)TV_ld(var[ch]) + (double)eps);
        ma[ch] = mul;
        ma[c + ch] = (double)TB_ld(bias[ch]) - (double)TM_ld(mean[ch]) * mul;
    }
}

extern "C" __global__ void suanli_bn_apply(const T* __restrict__ x, const double* __restrict__ ma, T* __restrict__ y,
                                           long long n, long long c, long long sp) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const long long ch = (i / sp) % c;
        y[i] = T_st(T_ld(x[i]) * (T_acc)ma[ch] + (T_acc)ma[c + ch]);
    }
}
