// Permuting copy through 32x32 shared-memory tiles, for walks whose destination-contiguous
// dim a and source-contiguous dim b differ (transposes): a tile is read along b and written
// along a, so both sides stay coalesced. T is the unsigned type of the element's width. The
// other dims form the batch (walked per tile); blocks loop over (batch, b tile, a tile).
struct SuanliTileParams {
    // Extents of a and b, the source stride of a, the destination stride of b, the batch
    // count, the number of batch dims and the source base.
    long long na, nb, sa, db, batch, rank, base;
    // Batch dims, innermost first: extent, source stride, destination stride.
    long long dim[6][3];
};

extern "C" __global__ void suanli_copy_tiled(const SuanliTileParams p, const T* __restrict__ x, T* __restrict__ y) {
    __shared__ T tile[32][33];
    long long ta = (p.na + 31) / 32, tb = (p.nb + 31) / 32;
    long long tiles = ta * tb * p.batch;
    int tx = threadIdx.x, ty = threadIdx.y;
    for (long long t = blockIdx.x; t < tiles; t += gridDim.x) {
        long long bt = t / (ta * tb), r = t % (ta * tb);
        long long a0 = (r % ta) * 32, b0 = (r / ta) * 32;
        long long rem = bt, src = p.base, dst = 0;
#pragma unroll
        for (int k = 0; k < 6; ++k) {
            if (k < p.rank) {
                long long o = rem % p.dim[k][0];
                rem /= p.dim[k][0];
                src += o * p.dim[k][1];
                dst += o * p.dim[k][2];
            }
        }
#pragma unroll
        for (int i = 0; i < 32; i += 8) {
            long long a = a0 + ty + i, b = b0 + tx;
            if (a < p.na && b < p.nb) tile[ty + i][tx] = x[src + a * p.sa + b];
        }
        __syncthreads();
#pragma unroll
        for (int i = 0; i < 32; i += 8) {
            long long b = b0 + ty + i, a = a0 + tx;
            if (a < p.na && b < p.nb) y[dst + b * p.db + a] = tile[tx][ty + i];
        }
        __syncthreads();
    }
}
