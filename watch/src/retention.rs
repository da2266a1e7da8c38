//! How many of a watch's dumps may stay: `--max-total SIZE` (the dumps of
//! this watch together) and `--keep-free SIZE|PCT` (free space left on the
//! dump directory's file system). The oldest dumps go first; a new dump
//! that cannot fit even alone is not kept.

/// The limits; `None` means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retention {
    /// Bytes all dumps of this watch may occupy together.
    pub max_total: Option<u64>,
    /// Bytes that must stay free on the file system.
    pub keep_free: Option<u64>,
}

/// A dump this watch wrote: its size on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    /// Bytes it occupies.
    pub bytes: u64,
}

/// What to do after a new dump of `new_bytes` was written, with `kept`
/// the earlier dumps (oldest first) and `free` the bytes free now (the new
/// dump already written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// How many of the oldest earlier dumps to remove.
    pub remove_oldest: usize,
    /// Whether the new dump itself must go (it alone breaks a limit).
    pub drop_new: bool,
}

impl Retention {
    /// Limits: `max_total` bytes for all dumps of the watch, `keep_free`
    /// bytes to leave free on the file system.
    pub fn new(max_total: Option<u64>, keep_free: Option<u64>) -> Retention {
        Retention {
            max_total,
            keep_free,
        }
    }

    /// Whether there is any limit.
    pub fn is_limited(&self) -> bool {
        self.max_total.is_some() || self.keep_free.is_some()
    }

    /// Decide what goes after a dump of `new_bytes` was written.
    ///
    /// ```
    /// use coroner_watch::retention::{Kept, Retention};
    /// let r = Retention::new(Some(100), None);
    /// let kept = [Kept { bytes: 40 }, Kept { bytes: 40 }];
    /// let plan = r.after_dump(&kept, 40, u64::MAX);
    /// assert_eq!((plan.remove_oldest, plan.drop_new), (1, false));
    /// ```
    pub fn after_dump(&self, kept: &[Kept], new_bytes: u64, free: u64) -> Plan {
        let mut total: u64 = kept
            .iter()
            .map(|k| k.bytes)
            .sum::<u64>()
            .saturating_add(new_bytes);
        let mut free = free;
        let over = |total: u64, free: u64| {
            self.max_total.is_some_and(|m| total > m) || self.keep_free.is_some_and(|k| free < k)
        };
        let mut remove_oldest = 0;
        for k in kept {
            if !over(total, free) {
                break;
            }
            total = total.saturating_sub(k.bytes);
            free = free.saturating_add(k.bytes);
            remove_oldest += 1;
        }
        if over(total, free) {
            // Even alone it breaks a limit: it goes, and the earlier dumps
            // that would have been removed for it stay.
            return Plan {
                remove_oldest: 0,
                drop_new: true,
            };
        }
        Plan {
            remove_oldest,
            drop_new: false,
        }
    }

    /// Before a dump: whether the file system already has less than
    /// `--keep-free` free with every earlier dump removed, so a dump would
    /// surely be removed again (it is skipped and logged instead).
    pub fn no_room_before(&self, kept: &[Kept], free: u64) -> bool {
        let reclaimable: u64 = kept.iter().map(|k| k.bytes).sum();
        self.keep_free
            .is_some_and(|k| free.saturating_add(reclaimable) < k)
    }
}

/// `--keep-free` given as a percentage: that share of `total` bytes.
pub fn percent_of(total: u64, percent: f64) -> u64 {
    (total as f64 * percent / 100.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(sizes: &[u64]) -> Vec<Kept> {
        sizes.iter().map(|&bytes| Kept { bytes }).collect()
    }

    #[test]
    fn max_total_removes_the_oldest_until_it_fits() {
        let r = Retention {
            max_total: Some(100),
            keep_free: None,
        };
        let p = r.after_dump(&kept(&[30, 30, 30]), 30, u64::MAX);
        assert_eq!(
            p,
            Plan {
                remove_oldest: 1,
                drop_new: false
            }
        );
        let p = r.after_dump(&kept(&[30, 30]), 30, u64::MAX);
        assert_eq!(
            p,
            Plan {
                remove_oldest: 0,
                drop_new: false
            }
        );
        // Exactly at the limit is within it.
        let p = r.after_dump(&kept(&[50]), 50, u64::MAX);
        assert_eq!(p.remove_oldest, 0);
    }

    #[test]
    fn a_dump_larger_than_the_limit_is_dropped_and_the_old_ones_stay() {
        let r = Retention {
            max_total: Some(100),
            keep_free: None,
        };
        let p = r.after_dump(&kept(&[30, 30]), 101, u64::MAX);
        assert_eq!(
            p,
            Plan {
                remove_oldest: 0,
                drop_new: true
            }
        );
    }

    #[test]
    fn keep_free_counts_space_freed_by_removals() {
        let r = Retention {
            max_total: None,
            keep_free: Some(1000),
        };
        // 900 free after the new dump: removing the 50-byte oldest is not
        // enough, both go.
        let p = r.after_dump(&kept(&[50, 60, 70]), 40, 900);
        assert_eq!(
            p,
            Plan {
                remove_oldest: 2,
                drop_new: false
            }
        );
        // Not even removing all would make room: the new one goes.
        let p = r.after_dump(&kept(&[10]), 40, 900);
        assert!(p.drop_new);
        assert!(r.no_room_before(&kept(&[10]), 900));
        assert!(!r.no_room_before(&kept(&[100]), 900));
    }

    #[test]
    fn both_limits_at_once() {
        let r = Retention {
            max_total: Some(100),
            keep_free: Some(500),
        };
        let p = r.after_dump(&kept(&[40, 40]), 40, 10_000);
        assert_eq!(p.remove_oldest, 1);
        let p = r.after_dump(&kept(&[40, 40]), 10, 450);
        assert_eq!(p.remove_oldest, 2);
        assert_eq!(percent_of(1000, 15.0), 150);
    }
}
