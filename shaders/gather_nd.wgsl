// GatherND: Y[t, r] = X[batch(t) * batch_stride + sum_j fix(IDX[t * k + j]) * stride_j + r].
// P[0] count, P[1] chunk (elements per addressed slice), P[2] k, P[3] tuples per batch,
// P[4] batch stride; then per tuple position j: dim length, data stride.
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read> IDX: array<I>;
@group(0) @binding(3) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) {
        return;
    }
    let chunk = P[1];
    let k = P[2];
    let t = i / chunk;
    var src = (t / max(P[3], 1u)) * P[4] + i % chunk;
    for (var j = 0u; j < k; j++) {
        src += fix_index(IDX[t * k + j], P[5u + 2u * j]) * P[6u + 2u * j];
    }
    Y[i] = X[src];
}
