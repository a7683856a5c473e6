// Global pooling (GlobalAveragePool, GlobalMaxPool, GlobalLpPool): one workgroup of 64
// invocations per (n, c) plane, strided partial results reduced through workgroup memory.
//
// The prelude supplies `alias T`, `alias A`, `const KIND: u32` (0 max, 1 average, 3 Lp) and
// `fn lp_term(v: A) -> A`, `fn lp_root(s: A) -> A` (|v|^p and s^(1/p) for Lp).
// Params: 0 planes, 1 plane size, 2 p (f32 bits), 3 -inf (f32 bits).

@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Y: array<T>;

var<workgroup> part: array<A, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let plane = wid.y * nwg.x + wid.x;
    let sz = P[1];
    var acc = A(0);
    if (KIND == 0u) { acc = A(bitcast<f32>(P[3])); }
    if (plane < P[0]) {
        let base = plane * sz;
        for (var j = lid.x; j < sz; j += 64u) {
            let v = A(X[base + j]);
            if (KIND == 0u) {
                if (v > acc) { acc = v; }
            } else if (KIND == 3u) {
                acc += lp_term(v);
            } else {
                acc += v;
            }
        }
    }
    part[lid.x] = acc;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s / 2u) {
        if (lid.x < s) {
            let o = part[lid.x + s];
            if (KIND == 0u) {
                if (o > part[lid.x]) { part[lid.x] = o; }
            } else {
                part[lid.x] += o;
            }
        }
        workgroupBarrier();
    }
    if (lid.x == 0u && plane < P[0]) {
        let r = part[0];
        if (KIND == 0u) {
            Y[plane] = T(r);
        } else if (KIND == 3u) {
            Y[plane] = T(lp_root(r));
        } else {
            Y[plane] = T(r / A(sz));
        }
    }
}
