// OneHot: Y[o, d, r] = V[1] when IDX[o, r] (wrapped into [0, depth)) == d, else V[0].
// P[0] count, P[1] inner size, P[2] depth.
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> IDX: array<I>;
@group(0) @binding(2) var<storage, read> V: array<T>;
@group(0) @binding(3) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) {
        return;
    }
    let inner = P[1];
    let depth = i32(P[2]);
    let r = i % inner;
    let rest = i / inner;
    let d = i32(rest % P[2]);
    let o = rest / P[2];
    let v = i32(IDX[o * inner + r]);
    let k = ((v % depth) + depth) % depth;
    Y[i] = select(V[0], V[1], k == d);
}
