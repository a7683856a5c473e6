// GatherElements: Y[p] = X[p with p[axis] replaced by fix(IDX[p])]. P[0] count, P[1] rank,
// P[2] axis, P[3] axis length; then per dim: index extent, data stride.
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
    let rank = P[1];
    let axis = P[2];
    var rem = i;
    var src = 0u;
    for (var k = 0u; k < rank; k++) {
        let d = rank - 1u - k;
        let n = P[4u + 2u * d];
        let o = rem % n;
        rem = rem / n;
        if (d == axis) {
            src += fix_index(IDX[i], P[3]) * P[5u + 2u * d];
        } else {
            src += o * P[5u + 2u * d];
        }
    }
    Y[i] = X[src];
}
