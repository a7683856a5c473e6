// EyeLike: Y[r, c] = 1 where c - r == k, else 0. P[0] count, P[1] cols, P[2] k (i32).
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) {
        return;
    }
    let col = i32(i % P[1]);
    let row = i32(i / P[1]);
    Y[i] = select(T(0), T(1), col - row == bitcast<i32>(P[2]));
}
