// ArgMax / ArgMin: one workgroup per output element.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let o = wid.y * nwg.x + wid.x;
    if (o >= P[0]) {
        return;
    }
    let lid = lid3.x;
    let i = arg_tree(arg_partial(base_off(o), lid, WG), lid);
    if (lid == 0u) {
        Y[o] = O(i);
    }
}
