// Reductions over an arbitrary set of axes: the machinery shared by the reduce and norm
// families. This file has no entry point; the lowering appends a kind file (reduce.cu,
// reduce_arg.cu, softmax.cu, norm_groups.cu, norm_mvn.cu) that defines one.
//
// Output o reduces the elements x[base(o) + off(r)] for r in [0, reduced), where a layout L
// provides outputs(), reduced(), base(o) and off(r). The threads of a block are split between
// outputs and the reduced range:
//   mode 0 (rows): rt threads (a multiple of 32) share an output and read consecutive r;
//     warps combine with __shfl_down_sync, then across warps through shared memory.
//   mode 1 (columns): ob = blockDim.x / rt outputs per block, consecutive threads on
//     consecutive outputs (coalesced where outputs are adjacent in memory); an output's rt
//     threads (a power of two; 1 = one thread per output) combine by a shared-memory tree.
// A state St accumulates with init(x, base, have), push(x, r), merge(other) and
// shfl_down(d). Once combined, every thread of an output holds the total and calls
// fin(layout, total, o, base, rl, rt, valid), where rl is the thread's rank within the output.
// Blocks loop over output groups (grid-stride), so every thread of a block reaches every
// barrier. Dynamic shared memory: mode 0 blockDim.x / 32 states, mode 1 blockDim.x states
// (none when rt == 1), SUANLI_STATE_BYTES each.

#define SUANLI_MAX_DIMS 8
#define SUANLI_STATE_BYTES 32
#define SUANLI_FULL_MASK 0xffffffffu

// Kept dims kd (strides ks) and reduced dims rd (strides rs), outer to inner, merged where
// adjacent; outs outputs of red elements each.
struct AxesP {
    long long outs, red, nk, nr;
    long long kd[SUANLI_MAX_DIMS], ks[SUANLI_MAX_DIMS], rd[SUANLI_MAX_DIMS], rs[SUANLI_MAX_DIMS];

    __device__ __forceinline__ long long outputs() const { return outs; }
    __device__ __forceinline__ long long reduced() const { return red; }
    __device__ __forceinline__ long long base(long long o) const {
        long long off = 0;
#pragma unroll
        for (int i = SUANLI_MAX_DIMS - 1; i >= 0; --i) {
            if (i < nk) {
                off += (o % kd[i]) * ks[i];
                o /= kd[i];
            }
        }
        return off;
    }
    __device__ __forceinline__ long long off(long long r) const {
        if (nr <= 1) return r * rs[0];
        long long off = 0;
#pragma unroll
        for (int i = SUANLI_MAX_DIMS - 1; i >= 0; --i) {
            if (i < nr) {
                off += (r % rd[i]) * rs[i];
                r /= rd[i];
            }
        }
        return off;
    }
};

// __shfl_down_sync for every accumulator type (narrow integers travel as int).
__device__ __forceinline__ float suanli_shd(float v, int d) { return __shfl_down_sync(SUANLI_FULL_MASK, v, d); }
__device__ __forceinline__ double suanli_shd(double v, int d) { return __shfl_down_sync(SUANLI_FULL_MASK, v, d); }
__device__ __forceinline__ int suanli_shd(int v, int d) { return __shfl_down_sync(SUANLI_FULL_MASK, v, d); }
__device__ __forceinline__ unsigned int suanli_shd(unsigned int v, int d) {
    return __shfl_down_sync(SUANLI_FULL_MASK, v, d);
}
__device__ __forceinline__ long long suanli_shd(long long v, int d) { return __shfl_down_sync(SUANLI_FULL_MASK, v, d); }
__device__ __forceinline__ unsigned long long suanli_shd(unsigned long long v, int d) {
    return __shfl_down_sync(SUANLI_FULL_MASK, v, d);
}
__device__ __forceinline__ signed char suanli_shd(signed char v, int d) {
    return (signed char)__shfl_down_sync(SUANLI_FULL_MASK, (int)v, d);
}
__device__ __forceinline__ unsigned char suanli_shd(unsigned char v, int d) {
    return (unsigned char)__shfl_down_sync(SUANLI_FULL_MASK, (int)v, d);
}
__device__ __forceinline__ short suanli_shd(short v, int d) {
    return (short)__shfl_down_sync(SUANLI_FULL_MASK, (int)v, d);
}
__device__ __forceinline__ unsigned short suanli_shd(unsigned short v, int d) {
    return (unsigned short)__shfl_down_sync(SUANLI_FULL_MASK, (int)v, d);
}

__device__ __forceinline__ bool suanli_isnan(float v) { return v != v; }
__device__ __forceinline__ bool suanli_isnan(double v) { return v != v; }
template <class V> __device__ __forceinline__ bool suanli_isnan(V) { return false; }

// Arg reductions: does candidate (cv, ci) beat (bv, bi)? NaN beats every number; ties (and two
// NaNs) go to the lower index, or the higher one with LAST. Independent of merge order.
template <bool MAX, bool LAST, class V>
__device__ __forceinline__ bool suanli_better(V cv, long long ci, V bv, long long bi) {
    const bool cn = suanli_isnan(cv), bn = suanli_isnan(bv);
    const bool tie = LAST ? ci > bi : ci < bi;
    if (cn || bn) return cn && (!bn || tie);
    if (cv == bv) return tie;
    return MAX ? cv > bv : cv < bv;
}

// The best element and its reduced index (i < 0: none seen yet).
template <bool MAX, bool LAST> struct SuanliArgState {
    T_acc v;
    long long i;
    __device__ __forceinline__ void take(T_acc c, long long ci) {
        if (i < 0 || suanli_better<MAX, LAST>(c, ci, v, i)) {
            v = c;
            i = ci;
        }
    }
    __device__ __forceinline__ void init(const T*, long long, bool) {
        v = T_acc(0);
        i = -1;
    }
    __device__ __forceinline__ void push(T x, long long r) { take(T_ld(x), r); }
    __device__ __forceinline__ void merge(const SuanliArgState& o) {
        if (o.i >= 0) take(o.v, o.i);
    }
    __device__ __forceinline__ SuanliArgState shfl_down(int d) const {
        SuanliArgState r;
        r.v = suanli_shd(v, d);
        r.i = suanli_shd(i, d);
        return r;
    }
};

// Sums of x - k and of (x - k)^2 in double, shifted by the output's first element k when
// CENTERED (mean and variance without cancellation in one pass) or unshifted (k = 0).
template <bool CENTERED> struct SuanliMoments {
    double k, s, q;
    __device__ __forceinline__ void init(const T* x, long long base, bool have) {
        k = (CENTERED && have) ? (double)T_ld(x[base]) : 0.0;
        s = 0.0;
        q = 0.0;
    }
    __device__ __forceinline__ void push(T x, long long) {
        const double d = (double)T_ld(x) - k;
        s += d;
        q += d * d;
    }
    __device__ __forceinline__ void merge(const SuanliMoments& o) {
        s += o.s;
        q += o.q;
    }
    __device__ __forceinline__ SuanliMoments shfl_down(int d) const {
        SuanliMoments r;
        r.k = k;
        r.s = suanli_shd(s, d);
        r.q = suanli_shd(q, d);
        return r;
    }
    // Mean and (population) variance of n elements.
    __device__ __forceinline__ double mean(double n) const { return k + s / n; }
    __device__ __forceinline__ double var(double n) const {
        const double m = s / n, v = q / n - m * m;
        return v < 0.0 ? 0.0 : v;  // rounding below 0 clamps; NaN (n = 0) stays
    }
};

template <class St, class L, class F>
__device__ __forceinline__ void suanli_axes(const L& lay, const T* __restrict__ x, int rt, int mode, F& fin) {
    static_assert(sizeof(St) <= SUANLI_STATE_BYTES, "reduction state larger than its shared-memory slot");
    extern __shared__ __align__(16) unsigned char suanli_smem[];
    St* sm = reinterpret_cast<St*>(suanli_smem);
    const int tid = threadIdx.x;
    const int ob = blockDim.x / rt;
    const int ol = mode == 0 ? tid / rt : tid % ob;
    const int rl = mode == 0 ? tid % rt : tid / ob;
    const long long outs = lay.outputs(), red = lay.reduced();
    for (long long g = (long long)blockIdx.x * ob; g < outs; g += (long long)gridDim.x * ob) {
        const long long o = g + ol;
        const bool valid = o < outs;
        const long long base = valid ? lay.base(o) : 0;
        St s;
        s.init(x, base, valid && red > 0);
        if (valid) {
            for (long long r = rl; r < red; r += rt) s.push(x[base + lay.off(r)], r);
        }
        St t = s;
        if (mode == 0) {
            // Lane 0 of each warp ends with the warp's total.
            for (int d = 16; d > 0; d >>= 1) {
                const St u = s.shfl_down(d);
                s.merge(u);
            }
            const int per = rt >> 5;
            if ((tid & 31) == 0) sm[tid >> 5] = s;
            __syncthreads();
            t = sm[ol * per];
            for (int k = 1; k < per; ++k) t.merge(sm[ol * per + k]);
            __syncthreads();
        } else if (rt > 1) {
            sm[rl * ob + ol] = s;
            __syncthreads();
            for (int h = rt >> 1; h > 0; h >>= 1) {
                if (rl < h) sm[rl * ob + ol].merge(sm[(rl + h) * ob + ol]);
                __syncthreads();
            }
            t = sm[ol];
            __syncthreads();
        }
        fin(lay, t, o, base, rl, rt, valid);
    }
}
