// BatchNormalization (inference): y = (x - mean[c]) * scale[c] / sqrt(var[c] + eps) + bias[c]
// over an [N, C, spatial] tensor, one invocation per element.
// P[0] elements, P[1] C, P[2] spatial, P[3] epsilon (f32 bits).
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read> S: array<TS>;
@group(0) @binding(3) var<storage, read> B: array<TB>;
@group(0) @binding(4) var<storage, read> M: array<TM>;
@group(0) @binding(5) var<storage, read> V: array<TV>;
@group(0) @binding(6) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) {
        return;
    }
    let c = (i / P[2]) % P[1];
    let mul = A(S[c]) / sqrt(A(V[c]) + A(bitcast<f32>(P[3])));
    let add = A(B[c]) - A(M[c]) * mul;
    Y[i] = T(A(X[i]) * mul + add);
}
