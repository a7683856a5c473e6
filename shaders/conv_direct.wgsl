// Direct convolution, one invocation per output element: for depthwise and other convolutions
// with few output channels per group, where a 64-row GEMM tile would be mostly idle.
//
// The prelude supplies `alias T`, `alias A` and `fn bias_at(ch: u32) -> A`.
// Params: 0 total outputs, 1 MG, 2 cg, 3 C, 4 M, 5..7 in extents, 8..10 out extents,
// 11..13 kernel extents, 14..16 strides, 17..19 dilations, 20..22 pads before (i32 bits).

@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read> W: array<T>;
@group(0) @binding(3) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) { return; }
    let MG = P[1];
    let cg = P[2];
    let in0 = i32(P[5]);
    let in1 = i32(P[6]);
    let in2 = i32(P[7]);
    let in_sz = P[5] * P[6] * P[7];
    let o1 = P[9];
    let o2 = P[10];
    let out_sz = P[8] * o1 * o2;
    let k0 = P[11];
    let k1 = P[12];
    let k2 = P[13];
    let o = i % out_sz;
    let ch = (i / out_sz) % P[4];
    let img = i / (out_sz * P[4]);
    let g = ch / MG;
    let ow = o % o2;
    let oh = (o / o2) % o1;
    let od = o / (o2 * o1);
    let id0 = i32(od * P[14]) - bitcast<i32>(P[20]);
    let ih0 = i32(oh * P[15]) - bitcast<i32>(P[21]);
    let iw0 = i32(ow * P[16]) - bitcast<i32>(P[22]);
    var acc = bias_at(ch);
    var wi = ch * cg * k0 * k1 * k2;
    for (var c = 0u; c < cg; c++) {
        let xc = (img * P[3] + g * cg + c) * in_sz;
        for (var kd = 0u; kd < k0; kd++) {
            let id = id0 + i32(kd * P[17]);
            let dok = id >= 0 && id < in0;
            for (var kh = 0u; kh < k1; kh++) {
                let ih = ih0 + i32(kh * P[18]);
                let hok = dok && ih >= 0 && ih < in1;
                for (var kw = 0u; kw < k2; kw++) {
                    let iw = iw0 + i32(kw * P[19]);
                    if (hok && iw >= 0 && iw < in2) {
                        acc += A(W[wi]) * A(X[xc + u32((id * in1 + ih) * in2 + iw)]);
                    }
                    wi++;
                }
            }
        }
    }
    Y[i] = T(acc);
}
