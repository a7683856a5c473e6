// Layer / RMS / Instance / Group normalisation: `groups` contiguous groups of `len` elements,
// one workgroup per group, statistics in A (f32, or f64 for f64 data) by two passes.
// Element e of group g takes its scale and bias at p = ((g % cycle) * len + e) / rep, mapped
// through broadcast strides when nd > 0. The generated header defines T, A, CENTER, the
// bindings X, S, Y and the functions bias_at(p) and store_stats(g, mean, inv).
//
// P[0] groups, P[1] len, P[2] cycle, P[3] rep, P[4] epsilon (f32 bits), P[5] nd,
// P[6..14] broadcast dims, P[14..22] scale strides, P[22..30] bias strides.

var<workgroup> SN: array<A, 256>;

fn tree(v: A, lid: u32) -> A {
    SN[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            SN[lid] = SN[lid] + SN[lid + s];
        }
        workgroupBarrier();
    }
    let r = SN[0];
    workgroupBarrier();
    return r;
}

// Offsets of parameter p in the scale (x) and bias (y) tensors.
fn param_off(p: u32) -> vec2<u32> {
    let nd = P[5];
    if (nd == 0u) {
        return vec2<u32>(p, p);
    }
    var rem = p;
    var off = vec2<u32>(0u, 0u);
    for (var i = nd; i > 0u; i = i - 1u) {
        let d = P[5u + i];
        let c = rem % d;
        off = off + c * vec2<u32>(P[13u + i], P[21u + i]);
        rem = rem / d;
    }
    return off;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let g = wid.y * nwg.x + wid.x;
    if (g >= P[0]) {
        return;
    }
    let lid = lid3.x;
    let len = P[1];
    let start = g * len;
    let n = A(len);
    var mean = A(0);
    var acc = A(0);
    if (CENTER) {
        for (var e = lid; e < len; e = e + WG) {
            acc = acc + A(X[start + e]);
        }
        mean = tree(acc, lid) / n;
        acc = A(0);
    }
    for (var e = lid; e < len; e = e + WG) {
        let d = A(X[start + e]) - mean;
        acc = acc + d * d;
    }
    let var_ = tree(acc, lid) / n;
    let inv = A(1) / sqrt(var_ + A(bitcast<f32>(P[4])));
    if (lid == 0u) {
        store_stats(g, mean, inv);
    }
    let pbase = (g % P[2]) * len;
    let rep = P[3];
    for (var e = lid; e < len; e = e + WG) {
        let off = param_off((pbase + e) / rep);
        let y = (A(X[start + e]) - mean) * inv * A(S[off.x]) + bias_at(off.y);
        Y[start + e] = T(y);
    }
}
