//! The store directory: one directory per crash, named by its id
//! (`<time>.<pid>.<name>`), holding `metadata.json`, `core` or `core.zst`,
//! and `minidump.dmp`. An entry is assembled in a hidden `.incoming-*`
//! directory and renamed into place whole, so a listing never sees half a
//! crash; everything is created 0600 (directories 0700) with `O_NOFOLLOW`
//! semantics, inside directories this store made.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::metadata::CrashMetadata;
use crate::names::{is_entry_id, safe_component};
use crate::StoreError;

/// The metadata file of an entry.
pub const METADATA_FILE: &str = "metadata.json";
/// The minidump file of an entry.
pub const MINIDUMP_FILE: &str = "minidump.dmp";
/// Prefix of entries being assembled.
const INCOMING_PREFIX: &str = ".incoming-";
/// The lock file concurrent handlers take to decide retention one at a time.
const LOCK_FILE: &str = ".lock";

/// Write `bytes` to `path` atomically: a `O_EXCL|O_NOFOLLOW` 0600 temporary
/// beside it, fsynced, renamed over `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc_o_nofollow())
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        StoreError::io("write", path.display(), e)
    })
}

fn libc_o_nofollow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// A crash store directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// One stored crash.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Entry {
    /// Its id (the directory name).
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its metadata; `None` when `metadata.json` is missing or unreadable.
    pub metadata: Option<CrashMetadata>,
}

impl Entry {
    /// The stored core, if one is kept.
    pub fn core_path(&self) -> Option<PathBuf> {
        let name = self.metadata.as_ref()?.stored.core.as_ref()?;
        Some(self.dir.join(safe_component(name.as_bytes()))).filter(|p| p.is_file())
    }

    /// The stored minidump, if one is kept.
    pub fn minidump_path(&self) -> Option<PathBuf> {
        Some(self.dir.join(MINIDUMP_FILE)).filter(|p| p.is_file())
    }

    /// Bytes the entry takes on disk.
    pub fn allocated(&self) -> u64 {
        allocated_in(&self.dir)
    }
}

/// Bytes the files directly in `dir` take on disk (`st_blocks × 512`).
fn allocated_in(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.blocks().saturating_mul(512))
                .sum()
        })
        .unwrap_or(0)
}

impl Store {
    /// The store at `dir`; with `create`, made (mode 0700, parents 0755) if
    /// missing. Refused when `dir` is a symbolic link or not a directory,
    /// or is writable by others than its owner.
    pub fn open(dir: &Path, create: bool) -> Result<Store, StoreError> {
        let unusable = |why: String| StoreError::Unusable {
            dir: dir.to_owned(),
            why,
        };
        if create && std::fs::symlink_metadata(dir).is_err() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| unusable(format!("cannot create it: {e}")))?;
        }
        let md = std::fs::symlink_metadata(dir).map_err(|e| unusable(e.to_string()))?;
        if md.file_type().is_symlink() {
            return Err(unusable(
                "it is a symbolic link; give the real directory".into(),
            ));
        }
        if !md.is_dir() {
            return Err(unusable("it is not a directory".into()));
        }
        if md.permissions().mode() & 0o022 != 0 {
            return Err(unusable(format!(
                "it is writable by group or others (mode {:o}); `chmod 700` it",
                md.permissions().mode() & 0o7777
            )));
        }
        Ok(Store {
            dir: dir.to_owned(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Take the store's lock (blocks while another handler holds it).
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        let path = self.dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc_o_nofollow())
            .open(&path)
            .map_err(|e| StoreError::io("open the lock", path.display(), e))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| StoreError::io("lock", path.display(), e.into()))?;
        Ok(StoreLock { _file: file })
    }

    /// Every stored crash, oldest first.
    pub fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        let rd = std::fs::read_dir(&self.dir)
            .map_err(|e| StoreError::io("list", self.dir.display(), e))?;
        let mut out: Vec<Entry> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| {
                let id = e.file_name().into_string().ok()?;
                is_entry_id(&id).then(|| self.entry(&id))
            })
            .collect();
        out.sort_by(|a, b| order_key(&a.id).cmp(&order_key(&b.id)));
        Ok(out)
    }

    fn entry(&self, id: &str) -> Entry {
        let dir = self.dir.join(id);
        let metadata = std::fs::read(dir.join(METADATA_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        Entry {
            id: id.to_owned(),
            dir,
            metadata,
        }
    }

    /// The crash `query` names: its id, a unique prefix of it, or a pid
    /// (the latest crash of that pid), as `coredumpctl` takes them.
    pub fn find(&self, query: &str) -> Result<Entry, StoreError> {
        let entries = self.entries()?;
        if let Some(e) = entries.iter().find(|e| e.id == query) {
            return Ok(e.clone());
        }
        if let Ok(pid) = query.parse::<u32>() {
            if let Some(e) = entries
                .iter()
                .rev()
                .find(|e| e.metadata.as_ref().is_some_and(|m| m.pid == pid))
            {
                return Ok(e.clone());
            }
        }
        let matching: Vec<&Entry> = entries.iter().filter(|e| e.id.starts_with(query)).collect();
        match matching.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(StoreError::NotFound(query.to_owned())),
            many => Err(StoreError::Ambiguous {
                query: query.to_owned(),
                count: many.len(),
            }),
        }
    }

    /// Bytes the store takes on disk.
    pub fn usage(&self) -> Result<u64, StoreError> {
        Ok(self.entries()?.iter().map(Entry::allocated).sum())
    }

    /// A fresh id for a crash of `pid` named `name` at `time`.
    pub fn new_id(&self, time: u64, pid: u32, name: &[u8]) -> String {
        let base = format!("{time:010}.{pid}.{}", safe_component(name));
        let mut id = base.clone();
        let mut n = 1u32;
        while std::fs::symlink_metadata(self.dir.join(&id)).is_ok()
            || std::fs::symlink_metadata(self.dir.join(format!("{INCOMING_PREFIX}{id}"))).is_ok()
        {
            id = format!("{base}-{n}");
            n = n.saturating_add(1);
        }
        id
    }

    /// Start assembling the entry `id`.
    pub fn incoming(&self, id: &str) -> Result<Incoming, StoreError> {
        let dir = self.dir.join(format!("{INCOMING_PREFIX}{id}"));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| StoreError::io("create", dir.display(), e))?;
        Ok(Incoming {
            dir,
            final_dir: self.dir.join(id),
            published: false,
        })
    }

    /// Remove entries being assembled by handlers that are gone (their
    /// directory untouched for an hour).
    pub fn remove_stale_incoming(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in rd.filter_map(Result::ok) {
            let stale = e
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if stale && e.file_name().to_string_lossy().starts_with(INCOMING_PREFIX) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Sort key: the time and pid as numbers, then the rest.
fn order_key(id: &str) -> (u64, u64, &str) {
    let mut parts = id.splitn(3, '.');
    let time = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let pid = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (time, pid, id)
}

/// The store's lock; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

/// An entry being assembled; removed on drop unless published.
#[derive(Debug)]
pub struct Incoming {
    dir: PathBuf,
    final_dir: PathBuf,
    published: bool,
}

impl Incoming {
    /// Its directory, where the dump files go.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write the metadata and move the entry into place, atomically.
    pub fn publish(mut self, metadata: &CrashMetadata) -> Result<PathBuf, StoreError> {
        let json = serde_json::to_vec_pretty(metadata).map_err(|source| StoreError::Json {
            path: self.dir.join(METADATA_FILE),
            source,
        })?;
        write_atomically(&self.dir.join(METADATA_FILE), &json)?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        rustix::fs::renameat_with(
            rustix::fs::CWD,
            &self.dir,
            rustix::fs::CWD,
            &self.final_dir,
            rustix::fs::RenameFlags::NOREPLACE,
        )
        .map_err(|e| StoreError::io("publish", self.final_dir.display(), e.into()))?;
        self.published = true;
        if let Some(parent) = self.final_dir.parent() {
            if let Ok(d) = File::open(parent) {
                let _ = d.sync_all();
            }
        }
        Ok(self.final_dir.clone())
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Rewrite an entry's metadata (after retention removed its dump).
pub(crate) fn rewrite_metadata(
    entry_dir: &Path,
    metadata: &CrashMetadata,
) -> Result<(), StoreError> {
    let json = serde_json::to_vec_pretty(metadata).map_err(|source| StoreError::Json {
        path: entry_dir.join(METADATA_FILE),
        source,
    })?;
    write_atomically(&entry_dir.join(METADATA_FILE), &json)
}
