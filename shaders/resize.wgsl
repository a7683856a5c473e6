// Resize with per-axis taps precomputed on the host (the CPU kernel's coordinate rules), so
// nearest/linear/cubic, antialias, exclude_outside and tf_crop_and_resize are one shader.
// The sum is nested like the CPU's separable passes (level 0 = the first resized axis,
// innermost), so integer outputs round the same values the CPU rounds.
// P[0] count, P[1] rank (<= 8), P[2] extrapolation value (f32 bits), P[3] 1 = round and clamp
// to [P[4], P[5]] (f32 bits) for integer outputs; then 4 words per dim: output extent, source
// stride, taps per output index K, offset of the dim's tap table in P; then the dim of each
// level. A table holds, per output index, K entries of 4 words: source index (0xffffffff marks
// extrapolation) and the weight as three f32 parts whose f64 sum is exact.
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Y: array<T>;

fn entry(d: u32, o: u32, t: u32) -> u32 {
    let h = 6u + 4u * d;
    return P[h + 3u] + 4u * (o * P[h + 2u] + t);
}

fn weight(e: u32) -> A {
    return A(bitcast<f32>(P[e + 1u])) + A(bitcast<f32>(P[e + 2u])) + A(bitcast<f32>(P[e + 3u]));
}

// Round half to even (like the CPU), written out: `round` need not tie to even on f64.
fn round_even(x: A) -> A {
    let f = floor(x);
    let d = x - f;
    if (d > A(0.5)) {
        return f + A(1);
    }
    if (d < A(0.5)) {
        return f;
    }
    let half = f * A(0.5);
    return select(f + A(1), f, floor(half) == half);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) {
        return;
    }
    let rank = P[1];
    let lv = 6u + 4u * rank;
    var o: array<u32, 8>;
    var rem = i;
    for (var k = 0u; k < rank; k++) {
        let d = rank - 1u - k;
        let n = P[6u + 4u * d];
        o[d] = rem % n;
        rem = rem / n;
    }
    // The highest level whose output coordinate is extrapolated, if any.
    var top = -1;
    for (var l = 0u; l < rank; l++) {
        let d = P[lv + l];
        if (P[entry(d, o[d], 0u)] == 0xffffffffu) {
            top = i32(l);
        }
    }
    var result = A(0);
    if (top >= 0) {
        result = A(bitcast<f32>(P[2]));
        for (var l = u32(top) + 1u; l < rank; l++) {
            let d = P[lv + l];
            var s = A(0);
            for (var t = 0u; t < P[6u + 4u * d + 2u]; t++) {
                s += weight(entry(d, o[d], t)) * result;
            }
            result = s;
        }
    } else {
        var acc: array<A, 8>;
        var tap: array<u32, 8>;
        var done = rank == 0u;
        if (done) {
            result = A(X[0]);
        }
        while (!done) {
            var src = 0u;
            for (var l = 0u; l < rank; l++) {
                let d = P[lv + l];
                src += P[entry(d, o[d], tap[l])] * P[6u + 4u * d + 1u];
            }
            let d0 = P[lv];
            acc[0] += weight(entry(d0, o[d0], tap[0])) * A(X[src]);
            var l = 0u;
            loop {
                let d = P[lv + l];
                tap[l] += 1u;
                if (tap[l] < P[6u + 4u * d + 2u]) {
                    break;
                }
                tap[l] = 0u;
                if (l + 1u == rank) {
                    done = true;
                    break;
                }
                let d1 = P[lv + l + 1u];
                acc[l + 1u] += weight(entry(d1, o[d1], tap[l + 1u])) * acc[l];
                acc[l] = A(0);
                l += 1u;
            }
        }
        if (rank > 0u) {
            result = acc[rank - 1u];
        }
    }
    if (P[3] == 1u) {
        result = clamp(round_even(result), A(bitcast<f32>(P[4])), A(bitcast<f32>(P[5])));
    }
    Y[i] = T(result);
}
