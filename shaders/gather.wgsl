// Gather along an axis: Y[o, j, r] = X[o, fix(IDX[j]), r]. P[0] count, P[1] inner size,
// P[2] index count, P[3] axis length.
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
    let inner = P[1];
    let r = i % inner;
    let rest = i / inner;
    let j = rest % P[2];
    let o = rest / P[2];
    let src = (o * P[3] + fix_index(IDX[j], P[3])) * inner + r;
    Y[i] = X[src];
}
