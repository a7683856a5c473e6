// ArgMax / ArgMin: the int64 reduced index of the extreme element of each output (machinery
// and state in reduce_axes.cu). The header defines SUANLI_ARG_MAX (1 ArgMax, 0 ArgMin),
// SUANLI_ARG_LAST (select_last_index) and the alias T.

typedef SuanliArgState<SUANLI_ARG_MAX != 0, SUANLI_ARG_LAST != 0> St;

struct SuanliArgFin {
    long long* y;
    template <class L>
    __device__ __forceinline__ void operator()(const L&, const St& t, long long o, long long, int rl, int, bool valid) {
        if (valid && rl == 0) y[o] = t.i < 0 ? 0 : t.i;
    }
};

extern "C" __global__ void suanli_arg(const AxesP p, const T* __restrict__ x, long long* __restrict__ y, int rt, int mode) {
    SuanliArgFin fin{y};
    suanli_axes<St>(p, x, rt, mode, fin);
}
