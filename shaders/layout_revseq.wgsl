// ReverseSequence over dims 0 and 1. P[0] count, P[1] dim 0, P[2] dim 1, P[3] inner size,
// P[4] 1 when the batch axis is 0; P[5..] the sequence length of each batch entry.
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
    let inner = P[3];
    let r = i % inner;
    let rest = i / inner;
    let i1 = rest % P[2];
    let i0 = rest / P[2];
    let batch_first = P[4] == 1u;
    let b = select(i1, i0, batch_first);
    let t = select(i0, i1, batch_first);
    let len = P[5u + b];
    let t2 = select(t, len - 1u - t, t < len);
    let src = select(t2 * P[2] + b, b * P[2] + t2, batch_first);
    Y[i] = X[src * inner + r];
}
