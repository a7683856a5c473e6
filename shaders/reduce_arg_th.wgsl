// ArgMax / ArgMin: one invocation per output element.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let o = linear_id(wid, nwg, lid);
    if (o >= P[0]) {
        return;
    }
    Y[o] = O(arg_partial(base_off(o), 0u, 1u).i);
}
