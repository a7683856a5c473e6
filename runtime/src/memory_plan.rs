//! Liveness-based memory planning: each device's values get offsets in one reusable arena.

/// One buffer to place: its size and the step interval during which it is alive.
#[derive(Clone, Debug)]
pub struct Interval {
    /// Bytes needed.
    pub bytes: usize,
    /// First step at which it is written.
    pub start: usize,
    /// Last step at which it is read (inclusive).
    pub end: usize,
}

/// The result of planning one device's memory.
#[derive(Clone, Debug, Default)]
pub struct MemoryPlan {
    /// Offset of each interval in the arena (same order as the input).
    pub offsets: Vec<usize>,
    /// Arena size: the peak of simultaneously live bytes after placement.
    pub peak_bytes: usize,
    /// Sum of all buffers without reuse, for comparison.
    pub total_bytes: usize,
}

const ALIGN: usize = 64;

/// Place intervals in an arena so that buffers alive at the same time never overlap.
/// Greedy: larger buffers first, each at the lowest offset free for its lifetime.
pub fn plan(intervals: &[Interval]) -> MemoryPlan {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by(|&a, &b| {
        intervals[b]
            .bytes
            .cmp(&intervals[a].bytes)
            .then(intervals[a].start.cmp(&intervals[b].start))
    });
    let mut offsets = vec![0usize; intervals.len()];
    let mut placed: Vec<usize> = Vec::new();
    let mut peak = 0usize;
    for &i in &order {
        let iv = &intervals[i];
        let size = iv.bytes.div_ceil(ALIGN) * ALIGN;
        // Occupied ranges of placed buffers whose lifetimes overlap this one, by offset.
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&j| intervals[j].start <= iv.end && iv.start <= intervals[j].end)
            .map(|&j| {
                (
                    offsets[j],
                    offsets[j] + intervals[j].bytes.div_ceil(ALIGN) * ALIGN,
                )
            })
            .collect();
        busy.sort_unstable();
        let mut off = 0usize;
        for (s, e) in busy {
            if off + size <= s {
                break;
            }
            off = off.max(e);
        }
        offsets[i] = off;
        peak = peak.max(off + size);
        placed.push(i);
    }
    MemoryPlan {
        offsets,
        peak_bytes: peak,
        total_bytes: intervals.iter().map(|i| i.bytes).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disjoint_lifetimes_share_memory() {
        let iv = vec![
            Interval {
                bytes: 1000,
                start: 0,
                end: 1,
            },
            Interval {
                bytes: 1000,
                start: 2,
                end: 3,
            },
            Interval {
                bytes: 500,
                start: 1,
                end: 2,
            },
        ];
        let p = plan(&iv);
        assert_eq!(p.offsets[0], p.offsets[1]);
        assert!(p.peak_bytes < p.total_bytes);
        // Overlapping buffers never overlap in memory.
        for a in 0..3 {
            for b in a + 1..3 {
                if iv[a].start <= iv[b].end && iv[b].start <= iv[a].end {
                    let (ea, eb) = (p.offsets[a] + iv[a].bytes, p.offsets[b] + iv[b].bytes);
                    assert!(ea <= p.offsets[b] || eb <= p.offsets[a]);
                }
            }
        }
    }
}
