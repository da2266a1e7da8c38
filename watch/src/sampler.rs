//! Taking a [`Sample`] of a live process through proc-reader: `stat`
//! (CPU ticks, threads), `status` (RssAnon, VmSwap), and only when a
//! trigger needs them the fd directory and the memory cgroup's files.

use std::time::Instant;

use coroner_proc_reader::Process;

use crate::cgroup::MemoryCgroup;
use crate::sample::Sample;

/// What to read beyond `stat` and `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Needs {
    /// Count open descriptors (`--fds`).
    pub fds: bool,
    /// Read the memory cgroup (`--oom-risk`).
    pub cgroup: bool,
}

/// Take a sample of `process` at `at` (time since `origin`); `cgroup` is
/// its memory cgroup when [`Needs::cgroup`]. `stat` is read first, so a
/// caller can tell from [`Sample::start_time`] and [`Sample::exited`]
/// whether the process is still the one it meant, at no extra read.
pub fn sample(
    process: &Process,
    origin: Instant,
    needs: Needs,
    cgroup: Option<&MemoryCgroup>,
) -> coroner_proc_reader::Result<Sample> {
    let reading = if needs.cgroup {
        cgroup.and_then(MemoryCgroup::read)
    } else {
        None
    };
    sample_with(process, origin, needs, reading)
}

/// [`sample`] with the memory cgroup already read: processes of one
/// cgroup share one reading per poll.
pub fn sample_with(
    process: &Process,
    origin: Instant,
    needs: Needs,
    cgroup: Option<crate::sample::CgroupMemory>,
) -> coroner_proc_reader::Result<Sample> {
    let at = origin.elapsed();
    let stat = process.stat()?;
    let status = process.status()?;
    let anon = status.rss_anon.or(status.vm_rss).unwrap_or(0);
    let memory = anon.saturating_add(status.vm_swap.unwrap_or(0));
    let mut s = Sample::new(
        at,
        stat.utime.saturating_add(stat.stime),
        memory,
        u64::try_from(stat.num_threads).unwrap_or(0),
    );
    s.ticks_per_second = coroner_proc_reader::clock_ticks_per_second();
    s.start_time = stat.start_time;
    s.exited = stat.is_zombie();
    if needs.fds {
        s.fds = Some(process.fd_count()? as u64);
    }
    if needs.cgroup {
        s.cgroup = cgroup;
    }
    Ok(s)
}
