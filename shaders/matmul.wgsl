// Tiled batched matrix multiply: C[b] = epilogue(A[b] · B[b]).
//
// The prelude supplies `alias T` (storage), `alias A` (accumulator) and
// `fn epilogue(acc: A, row: u32, col: u32) -> A` (which may read binding 4).
// Each workgroup computes a 64x64 tile of C with 16x16 invocations, each owning a 4x4
// micro-tile; this file loads the operands and `tile_mma` (gemm_tile.wgsl) stages them through
// workgroup memory and accumulates.
//
// Params: 0 M, 1 N, 2 K, 3 a_rs, 4 a_cs, 5 b_rs, 6 b_cs, 7 c_rs, 8 c_cs, 9 alpha (f32 bits),
// 10 beta (f32 bits), 11 batch base, 12 batch rank r, then r triples (extent, a_stride,
// b_stride), outermost first. Transposes and broadcasting are expressed by the strides.

@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> Am: array<T>;
@group(0) @binding(2) var<storage, read> Bm: array<T>;
@group(0) @binding(3) var<storage, read_write> Cm: array<T>;


@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let M = P[0];
    let N = P[1];
    let K = P[2];
    let a_rs = P[3];
    let a_cs = P[4];
    let b_rs = P[5];
    let b_cs = P[6];
    let batch = wid.z + P[11];
    var rest = batch;
    var a_off = 0u;
    var b_off = 0u;
    for (var d = P[12]; d > 0u; d--) {
        let base = 13u + 3u * (d - 1u);
        let ext = P[base];
        let i = rest % ext;
        rest = rest / ext;
        a_off += i * P[base + 1u];
        b_off += i * P[base + 2u];
    }
    let tx = lid.x;
    let ty = lid.y;
    let m0 = wid.y * 64u + tx;
    let n0 = wid.x * 64u + tx;
    let rm = vec4<u32>(m0, m0 + 16u, m0 + 32u, m0 + 48u);
    let cn = vec4<u32>(n0, n0 + 16u, n0 + 32u, n0 + 48u);
    let am = rm < vec4<u32>(M);
    let bn = cn < vec4<u32>(N);
    let ar = a_off + rm * a_rs;
    let bc = b_off + cn * b_cs;
    var acc = array<vec4<A>, 4>();
    for (var k0 = 0u; k0 < K; k0 += 16u) {
        // Invocation (tx, ty) stages rows tx + 16i of A's column k0 + ty and columns
        // tx + 16j of B's row k0 + ty.
        let kk = k0 + ty;
        var av = vec4<A>(A(0));
        var bv = vec4<A>(A(0));
        if (kk < K) {
            let ak = ar + kk * a_cs;
            let bk = bc + kk * b_rs;
            if (am.x) { av.x = A(Am[ak.x]); }
            if (am.y) { av.y = A(Am[ak.y]); }
            if (am.z) { av.z = A(Am[ak.z]); }
            if (am.w) { av.w = A(Am[ak.w]); }
            if (bn.x) { bv.x = A(Bm[bk.x]); }
            if (bn.y) { bv.y = A(Bm[bk.y]); }
            if (bn.z) { bv.z = A(Bm[bk.z]); }
            if (bn.w) { bv.w = A(Bm[bk.w]); }
        }
        tile_mma(tx, ty, av, bv, &acc);
    }
    let c_off = batch * M * N;
    let r0 = wid.y * 64u + ty;
    store_row(c_off, r0, N, n0, acc[0]);
    store_row(c_off, r0 + 16u, N, n0, acc[1]);
    store_row(c_off, r0 + 32u, N, n0, acc[2]);
    store_row(c_off, r0 + 48u, N, n0, acc[3]);
}

fn store_row(c_off: u32, row: u32, N: u32, n0: u32, v: vec4<A>) {
    if (row >= P[0]) { return; }
    let base = c_off + row * N;
    if (n0 < N) { Cm[base + n0] = T(epilogue(v.x, row, n0)); }
    if (n0 + 16u < N) { Cm[base + n0 + 16u] = T(epilogue(v.y, row, n0 + 16u)); }
    if (n0 + 32u < N) { Cm[base + n0 + 32u] = T(epilogue(v.z, row, n0 + 32u)); }
    if (n0 + 48u < N) { Cm[base + n0 + 48u] = T(epilogue(v.w, row, n0 + 48u)); }
}
