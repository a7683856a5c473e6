// Reduction over an arbitrary set of axes. The input is seen through two index spaces:
// kept coordinates (one per output element) and reduced coordinates, each a list of merged
// dims with their element strides. The generated header defines T (input), A (accumulator),
// O (output), PHASES, and the per-kind functions pre1/comb1/init1, pre2/comb2/init2, finish.
//
// P[0] outputs, P[1] reduced count, P[2] kept rank, P[3] reduced rank,
// P[4..12] kept dims, P[12..20] kept strides, P[20..28] reduced dims, P[28..36] reduced strides.
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Y: array<O>;

var<workgroup> SA: array<A, 256>;
var<workgroup> SI: array<u32, 256>;

fn base_off(o: u32) -> u32 {
    var rem = o;
    var off = 0u;
    for (var i = P[2]; i > 0u; i = i - 1u) {
        let d = P[3u + i];
        off = off + (rem % d) * P[11u + i];
        rem = rem / d;
    }
    return off;
}

fn red_off(r: u32) -> u32 {
    let nr = P[3];
    if (nr <= 1u) {
        return r * P[28];
    }
    var rem = r;
    var off = 0u;
    for (var i = nr; i > 0u; i = i - 1u) {
        let d = P[19u + i];
        off = off + (rem % d) * P[27u + i];
        rem = rem / d;
    }
    return off;
}

// Phase-1 partial over reduced indices start, start+step, ...
fn partial1(base: u32, start: u32, step: u32) -> A {
    var acc = init1(pre1(X[base]));
    for (var r = start; r < P[1]; r = r + step) {
        acc = comb1(acc, pre1(X[base + red_off(r)]));
    }
    return acc;
}

// Phase-2 partial, given the phase-1 result.
fn partial2(base: u32, start: u32, step: u32, s1: A) -> A {
    var acc = init2();
    for (var r = start; r < P[1]; r = r + step) {
        acc = comb2(acc, pre2(X[base + red_off(r)], s1));
    }
    return acc;
}

fn tree1(v: A, lid: u32) -> A {
    SA[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            SA[lid] = comb1(SA[lid], SA[lid + s]);
        }
        workgroupBarrier();
    }
    let r = SA[0];
    workgroupBarrier();
    return r;
}

fn tree2(v: A, lid: u32) -> A {
    SA[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            SA[lid] = comb2(SA[lid], SA[lid + s]);
        }
        workgroupBarrier();
    }
    let r = SA[0];
    workgroupBarrier();
    return r;
}

// Arg reductions: candidate (cv, ci) beats (bv, bi)? NaN beats everything; ties go by index.
fn better(cv: A, ci: u32, bv: A, bi: u32) -> bool {
    let cn = cv != cv;
    let bn = bv != bv;
    var tie = ci < bi;
    if (LAST) {
        tie = ci > bi;
    }
    if (cn && bn) {
        return tie;
    }
    if (bn) {
        return false;
    }
    if (cn) {
        return true;
    }
    if (cv == bv) {
        return tie;
    }
    if (ARGMAX) {
        return cv > bv;
    }
    return cv < bv;
}

struct Best {
    v: A,
    i: u32,
}

fn arg_partial(base: u32, start: u32, step: u32) -> Best {
    var b = Best(A(X[base]), 0u);
    for (var r = start; r < P[1]; r = r + step) {
        let v = A(X[base + red_off(r)]);
        if (better(v, r, b.v, b.i)) {
            b = Best(v, r);
        }
    }
    return b;
}

fn arg_tree(b: Best, lid: u32) -> u32 {
    SA[lid] = b.v;
    SI[lid] = b.i;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s && better(SA[lid + s], SI[lid + s], SA[lid], SI[lid])) {
            SA[lid] = SA[lid + s];
            SI[lid] = SI[lid + s];
        }
        workgroupBarrier();
    }
    return SI[0];
}
