// ScatterElements into Y (already a copy of the data): one invocation per line of updates
// along the axis, applying that line's updates in order, so duplicates resolve like the CPU.
// P[0] line count, P[1] rank, P[2] axis, P[3] data axis length; then per dim: updates
// extent, updates stride, data stride.
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> IDX: array<I>;
@group(0) @binding(2) var<storage, read> U: array<T>;
@group(0) @binding(3) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) {
        return;
    }
    let rank = P[1];
    let axis = P[2];
    var rem = i;
    var ub = 0u;
    var db = 0u;
    for (var k = 0u; k < rank; k++) {
        let d = rank - 1u - k;
        if (d == axis) {
            continue;
        }
        let n = P[4u + 3u * d];
        let o = rem % n;
        rem = rem / n;
        ub += o * P[5u + 3u * d];
        db += o * P[6u + 3u * d];
    }
    let len = P[4u + 3u * axis];
    let us = P[5u + 3u * axis];
    let ds = P[6u + 3u * axis];
    for (var t = 0u; t < len; t++) {
        let u = ub + t * us;
        let o = db + fix_index(IDX[u], P[3]) * ds;
        Y[o] = combine(Y[o], U[u]);
    }
}
