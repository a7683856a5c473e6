// Softmax, LogSoftmax, Hardmax and Lp-normalisation along one axis of an [outer, n, inner]
// view. A lane is one (outer, inner) pair; its elements are n apart by `inner`.
// The generated header defines T (element), KIND (0 softmax, 1 log-softmax, 2 hardmax,
// 3 L1-normalise, 4 L2-normalise).
//
// P[0] lanes, P[1] n, P[2] inner.
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Y: array<T>;

var<workgroup> SM: array<f32, 256>;

fn lane_base(l: u32) -> u32 {
    let inner = P[2];
    return (l / inner) * P[1] * inner + l % inner;
}

fn xs(base: u32, j: u32) -> f32 {
    return f32(X[base + j * P[2]]);
}

// Largest element, NaN-ignoring (like f32::max).
fn part_max(base: u32, start: u32, step: u32) -> f32 {
    var m = xs(base, 0u);
    for (var j = start; j < P[1]; j = j + step) {
        let v = xs(base, j);
        if (v > m || m != m) {
            m = v;
        }
    }
    return m;
}

// Sum of exp(x - m) (softmax kinds) or of |x| / x² (Lp kinds).
fn part_sum(base: u32, start: u32, step: u32, m: f32) -> f32 {
    var s = 0.0;
    for (var j = start; j < P[1]; j = j + step) {
        let v = xs(base, j);
        if (KIND == 3u) {
            s = s + abs(v);
        } else if (KIND == 4u) {
            s = s + v * v;
        } else {
            s = s + exp(v - m);
        }
    }
    return s;
}

fn tree_max(v: f32, lid: u32) -> f32 {
    SM[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            let o = SM[lid + s];
            if (o > SM[lid] || SM[lid] != SM[lid]) {
                SM[lid] = o;
            }
        }
        workgroupBarrier();
    }
    let r = SM[0];
    workgroupBarrier();
    return r;
}

fn tree_sum(v: f32, lid: u32) -> f32 {
    SM[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            SM[lid] = SM[lid] + SM[lid + s];
        }
        workgroupBarrier();
    }
    let r = SM[0];
    workgroupBarrier();
    return r;
}

// Write the lane's outputs for j = start, start+step, ...
fn write(base: u32, start: u32, step: u32, m: f32, s: f32) {
    var norm = s;
    if (KIND == 4u) {
        norm = sqrt(s);
    }
    let inv = 1.0 / s;
    let shift = m + log(s);
    for (var j = start; j < P[1]; j = j + step) {
        let i = base + j * P[2];
        let v = f32(X[i]);
        if (KIND == 0u) {
            Y[i] = T(exp(v - m) * inv);
        } else if (KIND == 1u) {
            Y[i] = T(v - shift);
        } else if (norm == 0.0) {
            Y[i] = T(0.0);
        } else {
            Y[i] = T(v / norm);
        }
    }
}
