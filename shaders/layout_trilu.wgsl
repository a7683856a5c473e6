// Trilu / EyeLike over the last two dims. P[0] count, P[1] rows, P[2] cols, P[3] k (i32),
// P[4] 1 = keep the upper triangle (col - row >= k), 0 = the lower (col - row <= k).
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
    let col = i32(i % P[2]);
    let row = i32((i / P[2]) % P[1]);
    let k = bitcast<i32>(P[3]);
    let d = col - row;
    let keep = select(d <= k, d >= k, P[4] == 1u);
    Y[i] = select(T(0), X[i], keep);
}
