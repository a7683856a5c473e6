// One workgroup per lane.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let l = wid.y * nwg.x + wid.x;
    if (l >= P[0]) {
        return;
    }
    let lid = lid3.x;
    let base = lane_base(l);
    var m = 0.0;
    if (KIND <= 1u) {
        m = tree_max(part_max(base, lid, WG), lid);
    }
    let s = tree_sum(part_sum(base, lid, WG, m), lid);
    write(base, lid, WG, m, s);
}
