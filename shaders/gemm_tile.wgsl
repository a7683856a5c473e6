// The shared step of the tiled GEMM shaders (matmul.wgsl, conv_gemm.wgsl): a workgroup of
// 16x16 invocations computes a 64x64 output tile, each invocation a 4x4 register block
// (rows ty + 16i, columns tx + 16j). Per K tile of 16, invocation (tx, ty) stages `av` (rows
// tx + 16i of A's column k0 + ty) and `bv` (columns tx + 16j of B's row k0 + ty); then every
// invocation accumulates its block. Must be called in uniform control flow (it has barriers).

// As[k * 16 + r] holds rows (r, r + 16, r + 32, r + 48) of column k of the A tile.
var<workgroup> As: array<vec4<A>, 256>;
// Bs[k * 16 + c] holds columns (c, c + 16, c + 32, c + 48) of row k of the B tile.
var<workgroup> Bs: array<vec4<A>, 256>;

fn tile_mma(tx: u32, ty: u32, av: vec4<A>, bv: vec4<A>, acc: ptr<function, array<vec4<A>, 4>>) {
    As[ty * 16u + tx] = av;
    Bs[ty * 16u + tx] = bv;
    workgroupBarrier();
    for (var k = 0u; k < 16u; k += 1u) {
        let a = As[k * 16u + ty];
        let b = Bs[k * 16u + tx];
        (*acc)[0] += a.x * b;
        (*acc)[1] += a.y * b;
        (*acc)[2] += a.z * b;
        (*acc)[3] += a.w * b;
    }
    workgroupBarrier();
}
