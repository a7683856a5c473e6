// ScatterND into Y (already a copy of the data): one invocation per element r of a slice,
// applying every index tuple in order, so duplicates resolve like the CPU.
// P[0] chunk, P[1] k, P[2] tuple count; then per tuple position j: dim length, data stride.
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> IDX: array<I>;
@group(0) @binding(2) var<storage, read> U: array<T>;
@group(0) @binding(3) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = linear_id(wid, nwg, lid);
    let chunk = P[0];
    if (r >= chunk) {
        return;
    }
    let k = P[1];
    for (var t = 0u; t < P[2]; t++) {
        var o = r;
        for (var j = 0u; j < k; j++) {
            o += fix_index(IDX[t * k + j], P[3u + 2u * j]) * P[4u + 2u * j];
        }
        Y[o] = combine(Y[o], U[t * chunk + r]);
    }
}
