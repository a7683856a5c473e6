// One workgroup per output element.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let o = wid.y * nwg.x + wid.x;
    if (o >= P[0]) {
        return;
    }
    let lid = lid3.x;
    let base = base_off(o);
    let s1 = tree1(partial1(base, lid, WG), lid);
    var s2 = s1;
    if (PHASES == 2u) {
        s2 = tree2(partial2(base, lid, WG, s1), lid);
    }
    finish(o, base, s1, s2, lid, WG);
}
