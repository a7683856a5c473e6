// Windowed pooling (MaxPool, AveragePool, LpPool), one invocation per output element.
//
// The prelude supplies `alias T` (storage), `alias A` (accumulator), `const KIND: u32`
// (0 max, 1 average excluding pads, 2 average including pads, 3 Lp), `fn empty() -> T`
// (the max of an empty window) and `fn record(o: u32, plane: u32, idx: u32)` (MaxPool's
// Indices output, binding 3, or nothing), `fn lp_term(v: A) -> A` and `fn lp_root(s: A) -> A`
// (|v|^p and s^(1/p) for Lp).
// Params: 0 total outputs, 1 storage order (1: column-major indices), 2 p (f32 bits),
// 3 empty-window bits, 4..6 in extents, 7..9 out extents, 10..12 kernel, 13..15 strides,
// 16..18 dilations, 19..21 pads before (i32 bits), 22..24 pads after (i32 bits).

@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Y: array<T>;

/// Window positions of one dim inside [-pb, in + pe).
fn padded_count(start: i32, k: u32, d: u32, pb: i32, n: i32, pe: i32) -> u32 {
    var c = 0u;
    for (var j = 0u; j < k; j++) {
        let p = start + i32(j * d);
        if (p >= -pb && p < n + pe) { c++; }
    }
    return c;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) { return; }
    let in0 = i32(P[4]);
    let in1 = i32(P[5]);
    let in2 = i32(P[6]);
    let in_sz = P[4] * P[5] * P[6];
    let o1 = P[8];
    let o2 = P[9];
    let out_sz = P[7] * o1 * o2;
    let k0 = P[10];
    let k1 = P[11];
    let k2 = P[12];
    let o = i % out_sz;
    let plane = i / out_sz;
    let ow = o % o2;
    let oh = (o / o2) % o1;
    let od = o / (o2 * o1);
    let pb = vec3<i32>(bitcast<i32>(P[19]), bitcast<i32>(P[20]), bitcast<i32>(P[21]));
    let sd = i32(od * P[13]) - pb.x;
    let sh = i32(oh * P[14]) - pb.y;
    let sw = i32(ow * P[15]) - pb.z;
    let xb = plane * in_sz;
    var best = empty();
    var found = false;
    var bi = 0u;
    var sum = A(0);
    var n = 0u;
    for (var kd = 0u; kd < k0; kd++) {
        let id = sd + i32(kd * P[16]);
        if (id < 0 || id >= in0) { continue; }
        for (var kh = 0u; kh < k1; kh++) {
            let ih = sh + i32(kh * P[17]);
            if (ih < 0 || ih >= in1) { continue; }
            for (var kw = 0u; kw < k2; kw++) {
                let iw = sw + i32(kw * P[18]);
                if (iw < 0 || iw >= in2) { continue; }
                let sp = u32((id * in1 + ih) * in2 + iw);
                let v = X[xb + sp];
                if (KIND == 0u) {
                    if (!found || v > best) {
                        best = v;
                        found = true;
                        bi = select(sp, u32(id + ih * in0 + iw * in0 * in1), P[1] == 1u);
                    }
                } else if (KIND == 3u) {
                    sum += lp_term(A(v));
                } else {
                    sum += A(v);
                }
                n++;
            }
        }
    }
    if (KIND == 0u) {
        Y[i] = best;
        record(i, plane, bi);
    } else if (KIND == 3u) {
        Y[i] = T(lp_root(sum));
    } else {
        var cnt = n;
        if (KIND == 2u) {
            let pe = vec3<i32>(bitcast<i32>(P[22]), bitcast<i32>(P[23]), bitcast<i32>(P[24]));
            cnt = padded_count(sd, k0, P[16], pb.x, in0, pe.x) * padded_count(sh, k1, P[17], pb.y, in1, pe.y)
                * padded_count(sw, k2, P[18], pb.z, in2, pe.z);
        }
        if (cnt == 0u) {
            Y[i] = T(bitcast<f32>(P[3]));
        } else {
            Y[i] = T(sum / A(cnt));
        }
    }
}
