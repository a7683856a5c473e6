// Resize as a separable tap product: every output element sums, over the product of its
// per-dim taps, weight * X[source]. Taps come precomputed from the host (the CPU kernel's
// coordinate rules), so every mode (nearest/linear/cubic, antialias, exclude_outside,
// tf_crop_and_resize) is the same shader.
// P[0] count, P[1] rank, P[2] extrapolation value (f32 bits), P[3] 1 = round and clamp to
// [P[4], P[5]] (f32 bits) for integer outputs; then 4 words per dim: output extent, source
// stride, taps per output index K, offset of the dim's tap table in P. A table holds, per
// output index, K pairs (source index, weight bits); index 0xffffffff marks extrapolation.
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) {
        return;
    }
    let rank = P[1];
    var combos = 1u;
    for (var d = 0u; d < rank; d++) {
        combos *= P[8u + 4u * d];
    }
    var acc = A(0);
    var ext = false;
    for (var c = 0u; c < combos; c++) {
        var rem_o = i;
        var rem_c = c;
        var src = 0u;
        var w = A(1);
        for (var k = 0u; k < rank; k++) {
            let h = 6u + 4u * (rank - 1u - k);
            let n = P[h];
            let o = rem_o % n;
            rem_o = rem_o / n;
            let taps = P[h + 2u];
            let t = rem_c % taps;
            rem_c = rem_c / taps;
            let e = P[h + 3u] + 2u * (o * taps + t);
            let idx = P[e];
            if (idx == 0xffffffffu) {
                ext = true;
            } else {
                src += idx * P[h + 1u];
                w *= A(bitcast<f32>(P[e + 1u]));
            }
        }
        if (ext) {
            break;
        }
        acc += w * A(X[src]);
    }
    if (ext) {
        acc = A(bitcast<f32>(P[2]));
    }
    if (P[3] == 1u) {
        acc = clamp(round(acc), A(bitcast<f32>(P[4])), A(bitcast<f32>(P[5])));
    }
    Y[i] = T(acc);
}
