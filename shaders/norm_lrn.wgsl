// LRN across channels: y = x / (bias + alpha / size * Σ x²)^beta over the channel window
// [c - (size-1)/2, c + size-1-(size-1)/2] clipped to [0, C). One invocation per element.
// P[0] elements, P[1] C, P[2] spatial, P[3] size, P[4] alpha, P[5] beta, P[6] bias (f32 bits).
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= P[0]) {
        return;
    }
    let C = P[1];
    let sp = P[2];
    let size = P[3];
    let c = (i / sp) % C;
    let first = i - c * sp;
    let lo = (size - 1u) / 2u;
    let hi = size - 1u - lo;
    let from_ = select(0u, c - lo, c >= lo);
    let to = min(c + hi, C - 1u);
    var sq = 0.0;
    for (var cc = from_; cc <= to; cc = cc + 1u) {
        let v = f32(X[first + cc * sp]);
        sq = sq + v * v;
    }
    let alpha = bitcast<f32>(P[4]);
    let beta = bitcast<f32>(P[5]);
    let bias = bitcast<f32>(P[6]);
    let base = bias + alpha / f32(size) * sq;
    Y[i] = T(f32(X[i]) / pow(base, beta));
}
