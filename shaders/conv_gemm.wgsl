// Convolution as an implicit GEMM: for group g, Y[n, g*MG + m, o] = sum_kk W[g*MG + m, kk] * X̂[kk, (n, o)]
// where column (n, o) of X̂ is the patch of image n under output position o and row kk = (c, kd, kh, kw).
// Patches are gathered on the fly while staging the K tile; no im2col buffer.
//
// The prelude supplies `alias T` (storage), `alias A` (accumulator) and
// `fn bias_at(ch: u32) -> A` (which may read binding 4).
// Tiling as in matmul.wgsl, through the shared `tile_mma` step (gemm_tile.wgsl).
//
// Params: 0 MG (out channels per group), 1 NCOL (N * out size), 2 KG (C/group * kernel size),
// 3 C, 4 M (all out channels), 5 group base, 6..8 in extents, 9..11 out extents,
// 12..14 kernel extents, 15..17 strides, 18..20 dilations, 21..23 pads before (i32 bits).
// Spatial dims are normalised to 3 (leading extents 1).

@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read> W: array<T>;
@group(0) @binding(3) var<storage, read_write> Y: array<T>;


@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let MG = P[0];
    let NCOL = P[1];
    let KG = P[2];
    let g = wid.z + P[5];
    let in0 = P[6];
    let in1 = P[7];
    let in2 = P[8];
    let in_sz = in0 * in1 * in2;
    let o1 = P[10];
    let o2 = P[11];
    let out_sz = P[9] * o1 * o2;
    let k1 = P[13];
    let k2 = P[14];
    let ks = P[12] * k1 * k2;
    let cg = KG / ks;
    let tx = lid.x;
    let ty = lid.y;
    // The four columns this invocation stages and stores: n0 + 16j.
    let n0 = wid.x * 64u + tx;
    let cols = vec4<u32>(n0, n0 + 16u, n0 + 32u, n0 + 48u);
    let cvalid = cols < vec4<u32>(NCOL);
    let img = cols / out_sz;
    let o = cols % out_sz;
    let ow = o % o2;
    let oh = (o / o2) % o1;
    let od = o / (o2 * o1);
    let id0 = vec4<i32>(od * P[15]) - bitcast<i32>(P[21]);
    let ih0 = vec4<i32>(oh * P[16]) - bitcast<i32>(P[22]);
    let iw0 = vec4<i32>(ow * P[17]) - bitcast<i32>(P[23]);
    let xbase = (img * P[3] + g * cg) * in_sz;
    let ybase = img * P[4] * out_sz + o;
    // The four weight rows this invocation stages.
    let m0 = wid.y * 64u + tx;
    let rows = vec4<u32>(m0, m0 + 16u, m0 + 32u, m0 + 48u);
    let rvalid = rows < vec4<u32>(MG);
    let wrow = (g * MG + rows) * KG;
    let inv = vec3<i32>(i32(in0), i32(in1), i32(in2));
    var acc = array<vec4<A>, 4>();
    for (var k0 = 0u; k0 < KG; k0 += 16u) {
        let kk = k0 + ty;
        var av = vec4<A>(A(0));
        var bv = vec4<A>(A(0));
        if (kk < KG) {
            if (rvalid.x) { av.x = A(W[wrow.x + kk]); }
            if (rvalid.y) { av.y = A(W[wrow.y + kk]); }
            if (rvalid.z) { av.z = A(W[wrow.z + kk]); }
            if (rvalid.w) { av.w = A(W[wrow.w + kk]); }
            let c = kk / ks;
            let r = kk % ks;
            let kw = r % k2;
            let kh = (r / k2) % k1;
            let kd = r / (k2 * k1);
            let id = id0 + i32(kd * P[18]);
            let ih = ih0 + i32(kh * P[19]);
            let iw = iw0 + i32(kw * P[20]);
            let ok = cvalid & (id >= vec4<i32>(0)) & (id < vec4<i32>(inv.x)) & (ih >= vec4<i32>(0))
                & (ih < vec4<i32>(inv.y)) & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(inv.z));
            let xi = xbase + c * in_sz + vec4<u32>((id * inv.y + ih) * inv.z + iw);
            if (ok.x) { bv.x = A(X[xi.x]); }
            if (ok.y) { bv.y = A(X[xi.y]); }
            if (ok.z) { bv.z = A(X[xi.z]); }
            if (ok.w) { bv.w = A(X[xi.w]); }
        }
        tile_mma(tx, ty, av, bv, &acc);
    }
    let r0 = wid.y * 64u + ty;
    store_row(r0, g, out_sz, ybase, cvalid, acc[0]);
    store_row(r0 + 16u, g, out_sz, ybase, cvalid, acc[1]);
    store_row(r0 + 32u, g, out_sz, ybase, cvalid, acc[2]);
    store_row(r0 + 48u, g, out_sz, ybase, cvalid, acc[3]);
}

fn store_row(row: u32, g: u32, out_sz: u32, ybase: vec4<u32>, cvalid: vec4<bool>, v: vec4<A>) {
    if (row >= P[0]) { return; }
    let ch = g * P[0] + row;
    let b = bias_at(ch);
    let yi = ybase + ch * out_sz;
    if (cvalid.x) { Y[yi.x] = T(v.x + b); }
    if (cvalid.y) { Y[yi.y] = T(v.y + b); }
    if (cvalid.z) { Y[yi.z] = T(v.z + b); }
    if (cvalid.w) { Y[yi.w] = T(v.w + b); }
}
