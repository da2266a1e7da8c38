//! Address ranges as sorted, disjoint lists: what a dump holds, what pagemap
//! or a file reports present, what to leave out.

use std::ops::Range;

/// Remove `cut` ranges (any order) from sorted, non-overlapping `ranges`.
/// Linear in both once `cut` is sorted: a freeze may subtract thousands of
/// ranges from thousands.
pub(crate) fn subtract(ranges: Vec<Range<u64>>, cut: &[Range<u64>]) -> Vec<Range<u64>> {
    let cut = merge(cut.to_vec());
    let mut out = Vec::new();
    let mut j = 0usize;
    for r in ranges {
        while cut.get(j).is_some_and(|c| c.end <= r.start) {
            j += 1;
        }
        let mut at = r.start;
        let mut k = j;
        while at < r.end {
            match cut.get(k) {
                Some(c) if c.start < r.end => {
                    if c.start > at {
                        out.push(at..c.start);
                    }
                    at = at.max(c.end);
                    k += 1;
                }
                _ => {
                    out.push(at..r.end);
                    at = r.end;
                }
            }
        }
    }
    out
}

/// Append `r` to sorted `out`, joined to its last range when they touch.
#[cfg(target_os = "linux")]
pub(crate) fn push_joined(out: &mut Vec<Range<u64>>, r: Range<u64>) {
    match out.last_mut() {
        Some(last) if last.end == r.start => last.end = r.end,
        _ => out.push(r),
    }
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
        assert_eq!(
            subtract(vec![0..10, 20..30, 40..50], &[45..60, 5..22, 25..26]),
            vec![0..5, 22..25, 26..30, 40..45]
        );
    }
}
