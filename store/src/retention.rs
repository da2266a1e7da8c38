//! Keeping the store within its limits: `--max-use` (bytes the store may
//! take), `--keep-free` (bytes to leave on the file system) and the
//! per-executable rate limit. Oldest entries go first; the newest crash
//! keeps at least its metadata.

use std::path::Path;

use crate::metadata::CrashMetadata;
use crate::policy::{Policy, RateLimit};
use crate::store::{rewrite_metadata, Entry, Store};
use crate::StoreError;

/// systemd-coredump's defaults: MaxUse 10%, KeepFree 15% of the file
/// system, each at most 4 GiB.
const DEFAULT_CAP: u64 = 4 << 30;

/// The byte limits in force for a store on a file system of `fs_size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes the store may take.
    pub max_use: u64,
    /// Bytes to leave free.
    pub keep_free: u64,
}

impl Limits {
    /// `policy`'s limits, or the defaults for `fs_size`.
    pub fn of(policy: &Policy, fs_size: u64) -> Limits {
        Limits {
            max_use: policy.max_use.unwrap_or((fs_size / 10).min(DEFAULT_CAP)),
            keep_free: policy
                .keep_free
                .unwrap_or((fs_size / 100 * 15).min(DEFAULT_CAP)),
        }
    }
}

/// Size and free bytes of the file system holding `dir` (`statvfs`).
pub fn file_system(dir: &Path) -> Result<(u64, u64), StoreError> {
    let st =
        rustix::fs::statvfs(dir).map_err(|e| StoreError::io("statvfs", dir.display(), e.into()))?;
    Ok((
        st.f_blocks.saturating_mul(st.f_frsize),
        st.f_bavail.saturating_mul(st.f_frsize),
    ))
}

/// The key a rate limit counts crashes by: the executable, else the name.
pub fn rate_key(md: &CrashMetadata) -> &str {
    md.exe.as_deref().unwrap_or(&md.comm)
}

/// The file recording when cores were kept, per executable. Kept apart
/// from the entries so that removing old entries to stay within
/// `--max-use` does not reset the rate limit (a crash loop would otherwise
/// get a new burst each time its cores are evicted).
const RATE_LEDGER: &str = ".rate-ledger.json";
/// Most records the ledger keeps (older ones go first).
const MAX_LEDGER: usize = 10_000;

/// When cores were kept, per executable, within the longest interval a
/// rate limit looks back.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RateLedger {
    /// (time, rate key) of each core kept, oldest first.
    kept: Vec<(u64, String)>,
}

impl RateLedger {
    /// The store's ledger (empty when missing or unreadable). Read and
    /// record under the store's lock.
    pub fn load(store: &Store) -> RateLedger {
        std::fs::read(store.dir().join(RATE_LEDGER))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Whether a crash of `md` is over `limit`: `burst` cores of the same
    /// executable already kept in the `interval_seconds` before it.
    pub fn limited(&self, md: &CrashMetadata, limit: RateLimit) -> bool {
        let since = md.timestamp.saturating_sub(limit.interval_seconds);
        let key = rate_key(md);
        let recent = self
            .kept
            .iter()
            .filter(|(t, k)| *t > since && k == key)
            .count();
        recent >= usize::try_from(limit.burst).unwrap_or(usize::MAX)
    }

    /// Record that a core of `md` is being kept, forget records older than
    /// `window` seconds before it, and save.
    pub fn record(
        &mut self,
        store: &Store,
        md: &CrashMetadata,
        window: u64,
    ) -> Result<(), StoreError> {
        let since = md.timestamp.saturating_sub(window);
        self.kept.retain(|(t, _)| *t > since);
        self.kept.push((md.timestamp, rate_key(md).to_owned()));
        let excess = self.kept.len().saturating_sub(MAX_LEDGER);
        self.kept.drain(..excess);
        let json = serde_json::to_vec(self).map_err(|source| StoreError::Json {
            path: store.dir().join(RATE_LEDGER),
            source,
        })?;
        crate::store::write_atomically(&store.dir().join(RATE_LEDGER), &json)
    }
}

/// Remove oldest entries (never `keep`) until the store is within
/// `limits`; if `keep` alone is still over, drop its dump files and keep
/// its metadata, saying why. Returns the ids removed.
pub fn enforce(store: &Store, limits: Limits, keep: &str) -> Result<Vec<String>, StoreError> {
    let mut removed = Vec::new();
    let entries = store.entries()?;
    let mut sizes: Vec<(Entry, u64)> = entries
        .into_iter()
        .map(|e| {
            let size = e.allocated();
            (e, size)
        })
        .collect();
    let mut used: u64 = sizes.iter().map(|(_, s)| *s).sum();
    let (_, mut free) = file_system(store.dir())?;
    let over = |used: u64, free: u64| used > limits.max_use || free < limits.keep_free;
    for (entry, size) in &sizes {
        if !over(used, free) {
            break;
        }
        if entry.id == keep {
            continue;
        }
        std::fs::remove_dir_all(&entry.dir)
            .map_err(|e| StoreError::io("remove", entry.dir.display(), e))?;
        used = used.saturating_sub(*size);
        free = free.saturating_add(*size);
        removed.push(entry.id.clone());
    }
    if over(used, free) {
        if let Some((entry, _)) = sizes.iter_mut().find(|(e, _)| e.id == keep) {
            drop_dumps(entry, limits)?;
        }
    }
    Ok(removed)
}

/// Remove the dump files of `entry`, keeping its metadata.
fn drop_dumps(entry: &mut Entry, limits: Limits) -> Result<(), StoreError> {
    for path in [entry.core_path(), entry.minidump_path()]
        .into_iter()
        .flatten()
    {
        std::fs::remove_file(&path).map_err(|e| StoreError::io("remove", path.display(), e))?;
    }
    if let Some(md) = entry.metadata.as_mut() {
        md.stored.core = None;
        md.stored.minidump = None;
        md.stored.skipped = Some(format!(
            "removed to keep the store within --max-use {} and --keep-free {}",
            limits.max_use, limits.keep_free
        ));
        rewrite_metadata(&entry.dir, md)?;
    }
    Ok(())
}
