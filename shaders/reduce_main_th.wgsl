// One invocation per output element.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let o = linear_id(wid, nwg, lid);
    if (o >= P[0]) {
        return;
    }
    let base = base_off(o);
    let s1 = partial1(base, 0u, 1u);
    var s2 = s1;
    if (PHASES == 2u) {
        s2 = partial2(base, 0u, 1u, s1);
    }
    finish(o, base, s1, s2, 0u, 1u);
}
