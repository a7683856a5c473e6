// CumSum / CumProd along one axis of an [outer, n, inner] view: one invocation per lane
// (outer, inner) scanning its n elements in order (or in reverse), accumulating in A.
// The generated header defines T, A, PROD, EXCLUSIVE, REVERSE.
// P[0] lanes, P[1] n, P[2] inner.
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let l = linear_id(wid, nwg, lid);
    if (l >= P[0]) {
        return;
    }
    let n = P[1];
    let inner = P[2];
    let base = (l / inner) * n * inner + l % inner;
    var acc = select(A(0), A(1), PROD);
    for (var step = 0u; step < n; step = step + 1u) {
        var j = step;
        if (REVERSE) {
            j = n - 1u - step;
        }
        let i = base + j * inner;
        let x = A(X[i]);
        if (EXCLUSIVE) {
            Y[i] = T(acc);
        }
        if (PROD) {
            acc = acc * x;
        } else {
            acc = acc + x;
        }
        if (!EXCLUSIVE) {
            Y[i] = T(acc);
        }
    }
}
