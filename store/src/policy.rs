//! What the handler keeps (`crash-handler install` options), saved as the
//! JSON config file the installed `core_pattern` names.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// At most `burst` cores of one executable per `interval_seconds`; crashes
/// beyond keep their metadata only, and their core is not read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Cores allowed in the interval.
    pub burst: u32,
    /// The interval, in seconds.
    pub interval_seconds: u64,
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    /// `N/SECONDS`, as `5/60`.
    fn from_str(s: &str) -> Result<RateLimit, String> {
        let (burst, interval) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not N/SECONDS (for example 5/60)"))?;
        Ok(RateLimit {
            burst: burst
                .trim()
                .parse()
                .map_err(|_| format!("{burst:?} is not a count"))?,
            interval_seconds: interval
                .trim()
                .parse()
                .map_err(|_| format!("{interval:?} is not a number of seconds"))?,
        })
    }
}

/// What the handler stores and how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Policy {
    /// Compress cores with zstd (`core.zst`).
    pub compress: bool,
    /// zstd level.
    pub compress_level: i32,
    /// zstd worker threads (0: compress in the handler's thread).
    pub compress_threads: u32,
    /// Also write a minidump converted from the core.
    pub minidump: bool,
    /// Above this many bytes of core, keep the metadata only.
    pub max_process_size: Option<u64>,
    /// Most bytes the store may take; default 10% of its file system, at most 4 GiB.
    pub max_use: Option<u64>,
    /// Bytes to leave free on the file system; default 15% of it, at most 4 GiB.
    pub keep_free: Option<u64>,
    /// Per-executable rate limit; `None` for none.
    pub rate_limit: Option<RateLimit>,
    /// Record the crashed process's environment in the metadata (as
    /// systemd-coredump does); it may hold secrets, so it can be left out.
    pub record_environ: bool,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            compress: false,
            compress_level: 3,
            compress_threads: 2,
            minidump: false,
            max_process_size: None,
            max_use: None,
            keep_free: None,
            rate_limit: Some(RateLimit {
                burst: 10,
                interval_seconds: 60,
            }),
            record_environ: true,
        }
    }
}

/// The installed handler's configuration: where and what to store, and
/// the settings `install` replaced (for `uninstall`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HandlerConfig {
    /// The store directory.
    pub dir: PathBuf,
    /// What to store.
    pub policy: Policy,
    /// `core_pattern` before `install`.
    pub previous_core_pattern: Option<String>,
    /// `core_pipe_limit` before `install`.
    pub previous_core_pipe_limit: Option<u32>,
    /// The `core_pattern` `install` set.
    pub installed_core_pattern: Option<String>,
}

impl HandlerConfig {
    /// A config for a store at `dir`.
    pub fn new(dir: PathBuf, policy: Policy) -> HandlerConfig {
        HandlerConfig {
            dir,
            policy,
            previous_core_pattern: None,
            previous_core_pipe_limit: None,
            installed_core_pattern: None,
        }
    }

    /// Read the config at `path`.
    pub fn load(path: &Path) -> Result<HandlerConfig, StoreError> {
        let bytes = std::fs::read(path)
            .map_err(|e| StoreError::io("read the config", path.display(), e))?;
        serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
            path: path.to_owned(),
            source,
        })
    }

    /// Write the config to `path` atomically, mode 0600 (its directory is
    /// created 0755 if missing).
    pub fn save(&self, path: &Path) -> Result<(), StoreError> {
        let json = serde_json::to_vec_pretty(self).map_err(|source| StoreError::Json {
            path: path.to_owned(),
            source,
        })?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::io("create", parent.display(), e))?;
        }
        crate::store::write_atomically(path, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_parse_and_configs_round_trip() {
        assert_eq!(
            "5/60".parse::<RateLimit>().unwrap(),
            RateLimit {
                burst: 5,
                interval_seconds: 60
            }
        );
        assert!("5".parse::<RateLimit>().is_err());
        assert!("x/1".parse::<RateLimit>().is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("etc/handler.json");
        let mut config = HandlerConfig::new("/var/lib/coroner".into(), Policy::default());
        config.previous_core_pattern = Some("core".into());
        config.save(&path).unwrap();
        assert_eq!(HandlerConfig::load(&path).unwrap(), config);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Fields left out take their defaults.
        std::fs::write(&path, r#"{"dir":"/x","policy":{"compress":true}}"#).unwrap();
        let loaded = HandlerConfig::load(&path).unwrap();
        assert!(loaded.policy.compress);
        assert_eq!(loaded.policy.compress_level, 3);
        assert!(
            loaded.policy.record_environ,
            "configs from before the option record it"
        );
    }
}
