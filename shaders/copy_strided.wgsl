// Generic strided copy: output element i (row-major over the iteration dims) reads
// X[base + sum_d j_d * stride_d] with j_d = start_d + o_d * step_d remapped by the dim's mode,
// and lands at Y[dst_base + sum_d o_d * dst_stride_d].
// P[0] count, P[1] rank, P[2] source base (i32), P[3] destination base, P[4] fill from P[5]
// (f32 bits) when 1, else from F[0]; then 7 words per dim: extent, source stride (i32),
// start (i32), step (i32), source length, mode (0 direct, 1 constant fill outside, 2 edge,
// 3 reflect, 4 wrap), destination stride.
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read> F: array<T>;
@group(0) @binding(3) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) {
        return;
    }
    let rank = P[1];
    var rem = i;
    var src = bitcast<i32>(P[2]);
    var dst = P[3];
    var inside = true;
    for (var k = 0u; k < rank; k++) {
        let b = 6u + 7u * (rank - 1u - k);
        let n = P[b];
        let o = rem % n;
        rem = rem / n;
        let len = bitcast<i32>(P[b + 4u]);
        var j = bitcast<i32>(P[b + 2u]) + i32(o) * bitcast<i32>(P[b + 3u]);
        switch P[b + 5u] {
            case 1u: {
                if (j < 0 || j >= len) {
                    inside = false;
                }
            }
            case 2u: {
                j = clamp(j, 0, len - 1);
            }
            case 3u: {
                if (len <= 1) {
                    j = 0;
                } else {
                    let p = 2 * (len - 1);
                    let r = ((j % p) + p) % p;
                    j = select(p - r, r, r < len);
                }
            }
            case 4u: {
                j = ((j % len) + len) % len;
            }
            default: {}
        }
        src += j * bitcast<i32>(P[b + 1u]);
        dst += o * P[b + 6u];
    }
    if (inside) {
        Y[dst] = X[u32(src)];
    } else if (P[4] == 1u) {
        Y[dst] = T(bitcast<f32>(P[5]));
    } else {
        Y[dst] = F[0];
    }
}
