// An index into a dim of length n: negative values count from the end; out-of-range values
// are clamped (the CPU rejects them; the device cannot fail a dispatch).
fn fix_index(v: I, n: u32) -> u32 {
    let m = max(n, 1u);
    var w = v;
    if (w < I(0)) {
        w = w + I(m);
    }
    return u32(clamp(w, I(0), I(m - 1u)));
}
