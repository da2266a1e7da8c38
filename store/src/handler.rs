//! `crash-handler run`: what happens when the kernel hands over a core.
//!
//! 1. Read the kernel's facts (arguments) and the process's metadata from
//!    `/proc` while the kernel holds the process (`core_pipe_limit` > 0).
//! 2. Under the store's lock, decide: rate limit, room (`--max-use`,
//!    `--keep-free`). Crashes over the rate limit or with `RLIMIT_CORE` 0
//!    keep their metadata only and the core is not read: the kernel stops
//!    writing when the handler exits (a crash loop costs little CPU).
//! 3. Receive the core sparse (or zstd) into the entry being assembled;
//!    optionally convert it to a minidump; publish the entry atomically.
//! 4. Under the lock again, remove the oldest entries until the store is
//!    within its limits.
//!
//! When the store is unusable the metadata and the reason go to the log.

use std::io::Read;
use std::path::Path;

use coroner_capture::MemoryMode;
use coroner_capture::Sink;
use coroner_capture::{convert_file, DumpFormat};

use crate::kernel::KernelFacts;
use crate::log::{log, ERR, NOTICE};
use crate::metadata::{CrashMetadata, Environ};
use crate::policy::HandlerConfig;
use crate::receive::{receive, CoreOutput, ReceiveLimits, Received};
use crate::retention::{enforce, file_system, rate_key, Limits, RateLedger};
use crate::store::{Store, MINIDUMP_FILE};
use crate::StoreError;

/// What the handler stored.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Outcome {
    /// The entry's directory.
    pub entry: std::path::PathBuf,
    /// Its metadata as written.
    pub metadata: CrashMetadata,
    /// Entries retention removed.
    pub removed: Vec<String>,
}

/// Store the crash the kernel describes in `facts`, its core read from
/// `core`, as `config` says; `/proc` is read at `proc`.
pub fn handle_crash(
    config: &HandlerConfig,
    facts: &KernelFacts,
    core: &mut dyn Read,
    proc: &Path,
) -> Result<Outcome, StoreError> {
    let environ = if config.policy.record_environ {
        Environ::Record
    } else {
        Environ::Omit
    };
    let store = match Store::open(&config.dir, true) {
        Ok(s) => s,
        Err(e) => {
            let md = CrashMetadata::collect("-", facts, proc, environ);
            log(
                ERR,
                &format!(
                    "not storing the crash of pid {} ({}) signal {}: {e}; metadata: {}",
                    md.pid,
                    md.comm,
                    md.signal_name,
                    md.log_summary()
                ),
            );
            return Err(e);
        }
    };
    let id = store.new_id(facts.time, facts.pid, &facts.comm);
    let mut md = CrashMetadata::collect(&id, facts, proc, environ);
    let policy = &config.policy;

    // Decide under the lock, so concurrent crashes count each other.
    let (skip, max_stored, incoming) = {
        let _lock = store.lock()?;
        store.remove_stale_incoming();
        let mut ledger = RateLedger::load(&store);
        let (fs_size, free) = file_system(store.dir())?;
        let limits = Limits::of(policy, fs_size);
        let skip = if facts.core_rlimit == 0 {
            Some("the process's RLIMIT_CORE is 0 (ulimit -c 0)".to_owned())
        } else if policy.rate_limit.is_some_and(|r| ledger.limited(&md, r)) {
            let r = policy.rate_limit.unwrap_or(crate::policy::RateLimit {
                burst: 0,
                interval_seconds: 0,
            });
            Some(format!(
                "rate limit: {} cores of {} already kept in the last {} s",
                r.burst,
                rate_key(&md),
                r.interval_seconds
            ))
        } else {
            None
        };
        if skip.is_none() {
            if let Some(r) = policy.rate_limit {
                ledger.record(&store, &md, r.interval_seconds)?;
            }
        }
        let max_stored = limits.max_use.min(free.saturating_sub(limits.keep_free));
        // Claim the id while the lock is held.
        (skip, max_stored, store.incoming(&id)?)
    };

    md.stored.skipped = skip;
    if md.stored.skipped.is_none() {
        let limits = ReceiveLimits {
            max_size: policy.max_process_size,
            max_stored: Some(max_stored),
        };
        // With --minidump and --compress, the plain core is converted
        // first and compressed after.
        let stream_zstd = policy.compress && !policy.minidump;
        let name = if stream_zstd { "core.zst" } else { "core" };
        let path = incoming.dir().join(name);
        let sink = Sink::create(&path, false)?;
        let mut out = if stream_zstd {
            CoreOutput::zstd(sink, policy.compress_level, policy.compress_threads)
                .map_err(|e| StoreError::io("start zstd for", path.display(), e))?
        } else {
            CoreOutput::Sparse(sink)
        };
        match receive(core, &mut out, limits)? {
            Received::Complete {
                size,
                threads,
                seconds,
                ..
            } => {
                md.stored.core_allocated = out.finish()?;
                md.stored.core = Some(name.to_owned());
                md.stored.compressed = stream_zstd;
                md.stored.core_size = size;
                md.stored.receive_seconds = seconds;
                md.core_threads = threads;
            }
            Received::OverLimit { reason } => {
                drop(out);
                md.stored.skipped = Some(reason);
            }
        }
        if md.stored.core.is_some() && policy.minidump {
            let minidump = incoming.dir().join(MINIDUMP_FILE);
            let converted = Sink::create(&minidump, false)
                .map_err(StoreError::from)
                .and_then(|sink| {
                    convert_file(&path, Some(DumpFormat::Minidump), MemoryMode::Stacks, sink)
                        .map_err(|e| {
                            StoreError::io(
                                "convert the core into",
                                minidump.display(),
                                std::io::Error::other(e),
                            )
                        })
                });
            match converted {
                Ok(_) => md.stored.minidump = Some(MINIDUMP_FILE.to_owned()),
                Err(e) => md.stored.skipped = Some(format!("no minidump: {e}")),
            }
            if policy.compress {
                compress_in_place(&path, policy.compress_level, policy.compress_threads)?;
                md.stored.core = Some("core.zst".to_owned());
                md.stored.compressed = true;
                md.stored.core_allocated = allocated(&incoming.dir().join("core.zst"));
            }
        }
    }
    let entry = incoming.publish(&md)?;

    let removed = {
        let _lock = store.lock()?;
        let (fs_size, _) = file_system(store.dir())?;
        enforce(&store, Limits::of(policy, fs_size), &id)?
    };
    log(
        NOTICE,
        &format!(
            "pid {} ({}) died of {}: stored as {}{}{}",
            md.pid,
            md.comm,
            md.signal_name,
            entry.display(),
            match &md.stored.core {
                Some(c) => format!(
                    ", {c} {} bytes ({} on disk)",
                    md.stored.core_size, md.stored.core_allocated
                ),
                None => ", metadata only".to_owned(),
            },
            md.stored
                .skipped
                .as_ref()
                .map(|s| format!("; {s}"))
                .unwrap_or_default()
        ),
    );
    Ok(Outcome {
        entry,
        metadata: md,
        removed,
    })
}

fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .map(|m| m.blocks().saturating_mul(512))
        .unwrap_or(0)
}

/// Replace `core` by `core.zst` beside it.
fn compress_in_place(core: &Path, level: i32, workers: u32) -> Result<(), StoreError> {
    let zst = core.with_file_name("core.zst");
    let input = std::fs::File::open(core).map_err(|e| StoreError::io("open", core.display(), e))?;
    let sink = Sink::create(&zst, false)?;
    let mut counting = crate::receive::CountingSink { sink, written: 0 };
    crate::zst::compress(input, &mut counting, level, workers)
        .map_err(|e| StoreError::io("compress", core.display(), e))?;
    counting.sink.finish()?;
    std::fs::remove_file(core).map_err(|e| StoreError::io("remove", core.display(), e))
}
