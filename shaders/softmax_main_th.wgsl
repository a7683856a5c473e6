// One invocation per lane.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let l = linear_id(wid, nwg, lid);
    if (l >= P[0]) {
        return;
    }
    let base = lane_base(l);
    if (KIND == 2u) {
        // Hardmax: one-hot of the first maximum (NaN counts as the maximum).
        var best = 0u;
        for (var j = 1u; j < P[1]; j = j + 1u) {
            let c = X[base + j * P[2]];
            let b = X[base + best * P[2]];
            if (b == b && (c != c || c > b)) {
                best = j;
            }
        }
        for (var j = 0u; j < P[1]; j = j + 1u) {
            Y[base + j * P[2]] = select(T(0), T(1), j == best);
        }
        return;
    }
    var m = 0.0;
    if (KIND <= 1u) {
        m = part_max(base, 0u, 1u);
    }
    let s = part_sum(base, 0u, 1u, m);
    write(base, 0u, 1u, m, s);
}
