//! Dead-code elimination: drop nodes and constants nothing reads.

use crate::graph::Graph;
use std::collections::HashSet;

/// Remove nodes none of whose outputs are used, and unused constants. Returns nodes removed.
pub fn eliminate_dead_code(g: &mut Graph) -> usize {
    let mut live: HashSet<_> = g.outputs.iter().copied().collect();
    let before = g.nodes.len();
    let mut keep = vec![false; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate().rev() {
        if n.outputs.iter().flatten().any(|o| live.contains(o)) {
            keep[i] = true;
            live.extend(n.inputs.iter().flatten().copied());
        }
    }
    let mut it = keep.into_iter();
    g.nodes.retain(|_| it.next().unwrap_or(true));
    g.constants.retain(|v, _| live.contains(v));
    before - g.nodes.len()
}
