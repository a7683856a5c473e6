// ScatterElements into Y (already a copy of the data): one thread per line of updates along
// the axis, applying that line's updates in order, so duplicates resolve like the CPU. Lines
// differ outside the axis, so no two threads write the same element. `suanli_combine` (the
// reduction) is defined before this text.
struct SuanliScatterElementsParams {
    long long lines, rank, axis, axis_len;
    // Per dim, innermost first: updates extent, updates stride, data stride.
    long long dim[8][3];
};

extern "C" __global__ void suanli_scatter_elements(const SuanliScatterElementsParams p, const I* __restrict__ idx,
                                                   const T* __restrict__ u, T* __restrict__ y) {
    long long step = (long long)gridDim.x * blockDim.x;
    long long len = 0, us = 0, ds = 0;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
        if (k == p.axis) {
            len = p.dim[k][0];
            us = p.dim[k][1];
            ds = p.dim[k][2];
        }
    }
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < p.lines; i += step) {
        long long rem = i, ub = 0, db = 0;
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            if (k < p.rank && k != p.axis) {
                long long o = rem % p.dim[k][0];
                rem /= p.dim[k][0];
                ub += o * p.dim[k][1];
                db += o * p.dim[k][2];
            }
        }
        for (long long t = 0; t < len; ++t) {
            long long uo = ub + t * us;
            long long o = db + suanli_index(idx, uo, p.axis_len) * ds;
            y[o] = suanli_combine(y[o], u[uo]);
        }
    }
}
