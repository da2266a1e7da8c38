//! Address ranges as sorted, disjoint lists: what a dump holds, what pagemap
//! or a file reports present, what to leave out.

use std::ops::Range;

/// Remove `cut` ranges from sorted, non-overlapping `ranges`.
pub(crate) fn subtract(ranges: Vec<Range<u64>>, cut: &[Range<u64>]) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    for r in ranges {
        let mut pieces = vec![r];
        for c in cut {
            pieces = pieces
                .into_iter()
                .flat_map(|p| {
                    if c.end <= p.start || p.end <= c.start {
                        vec![p]
                    } else {
                        let mut v = Vec::new();
                        if p.start < c.start {
                            v.push(p.start..c.start);
                        }
                        if c.end < p.end {
                            v.push(c.end..p.end);
                        }
                        v
                    }
                })
                .collect();
        }
        out.extend(pieces);
    }
    out
}

/// Sort and merge overlapping or touching ranges.
pub(crate) fn merge(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn merge_and_subtract() {
        assert_eq!(merge(vec![5..9, 1..3, 2..4, 9..10]), vec![1..4, 5..10]);
        assert_eq!(merge(vec![5..7, 0..2, 2..3, 6..9, 4..4]), vec![0..3, 5..9]);
        assert_eq!(
            subtract(vec![0..10], &[2..3, 5..7]),
            vec![0..2, 3..5, 7..10]
        );
        assert_eq!(subtract(vec![0..10], &[0..10]), Vec::<Range<u64>>::new());
    }
}
