//! `coroner crash-handler install|uninstall|status|run`: coroner as the
//! system's core dump handler (see the README's "Crash handler" section).
//!
//! `install` writes the handler's config (store directory and policy, plus
//! the `core_pattern` and `core_pipe_limit` it replaces) and points
//! `/proc/sys/kernel/core_pattern` at `coroner crash-handler run`;
//! `uninstall` puts the saved settings back. `run` is what the kernel
//! starts for each crash, with the core on stdin.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use coroner_store::kernel::pipe_pattern;
use coroner_store::{handle_crash, HandlerConfig, KernelFacts, Policy, RateLimit, Store};

use crate::failure::Failure;
use crate::units::size;

/// Where `install` puts the config by default.
pub const DEFAULT_CONFIG: &str = "/etc/coroner/crash-handler.json";
/// Where crashes are stored by default.
pub const DEFAULT_DIR: &str = "/var/lib/coroner/crashes";
const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";
const CORE_PIPE_LIMIT: &str = "/proc/sys/kernel/core_pipe_limit";

/// `coroner crash-handler …`.
#[derive(Debug, Subcommand)]
pub enum CrashHandlerCommand {
    /// Make coroner the system's core dump handler (sets core_pattern).
    Install(InstallArgs),
    /// Restore the core_pattern and core_pipe_limit saved by `install`.
    Uninstall(ConfigArg),
    /// Show the installed handler, its config and its store.
    Status(ConfigArg),
    /// Store one crash: run by the kernel with the core on stdin (internal).
    Run(RunArgs),
}

/// The config file option.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The handler's config file.
    #[arg(long, short = 'c', default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
}

/// `crash-handler install` options.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Store directory (created 0700).
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// The handler's config file (its path goes into core_pattern, which
    /// holds at most 127 bytes).
    #[arg(long, short = 'c', default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Compress cores with zstd (streaming, multithreaded); `inspect`,
    /// `convert` and `crashes debug` read them directly.
    #[arg(long)]
    pub compress: bool,
    /// zstd level.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub compress_level: i32,
    /// zstd worker threads (0: compress in the handler's thread).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub compress_threads: u32,
    /// Also write a minidump (stacks) converted from each core.
    #[arg(long)]
    pub minidump: bool,
    /// Above this core size keep the metadata only (bytes; K, M, G, T suffixes).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_process_size: Option<u64>,
    /// Most disk the store may use [default: 10% of its file system, at most 4G].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_use: Option<u64>,
    /// Disk to leave free [default: 15% of the file system, at most 4G].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub keep_free: Option<u64>,
    /// At most N cores of one executable per SECONDS; more crashes keep
    /// their metadata only.
    #[arg(
        long,
        value_name = "N/SECONDS",
        default_value = "10/60",
        conflicts_with = "no_rate_limit"
    )]
    pub rate_limit: RateLimit,
    /// No rate limit.
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Leave the crashed process's environment out of the metadata (it is
    /// recorded by default, as systemd-coredump does, in the 0600
    /// metadata.json; it may hold secrets).
    #[arg(long)]
    pub no_environ: bool,
    /// core_pipe_limit to set: crashes handled at once, while the kernel
    /// keeps each crashing process (and its /proc entry) for the handler.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub pipe_limit: u32,
}

/// `crash-handler run` arguments, as the installed core_pattern passes them.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The handler's config file.
    #[arg(long, short = 'c', default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The kernel's expanded specifiers: %P %p %I %i %s %t %u %g %c %d %h %e.
    #[arg(last = true, required = true)]
    pub specifiers: Vec<OsString>,
}

/// A size such as `512M`, `2G` or `4096` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, shift) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 10),
        Some((i, 'm' | 'M')) => (&s[..i], 20),
        Some((i, 'g' | 'G')) => (&s[..i], 30),
        Some((i, 't' | 'T')) => (&s[..i], 40),
        _ => (s, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 4096, 512M or 2G"))?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Run `crash-handler SUBCOMMAND`.
pub fn run(command: &CrashHandlerCommand) -> Result<(), Failure> {
    match command {
        CrashHandlerCommand::Install(args) => install(args),
        CrashHandlerCommand::Uninstall(args) => uninstall(&args.config),
        CrashHandlerCommand::Status(args) => status(&args.config),
        CrashHandlerCommand::Run(args) => run_handler(args),
    }
}

fn read_setting(path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches('\n').to_owned())
        .map_err(|e| Failure::Message(format!("reading {path}: {e}")))
}

fn write_setting(path: &str, value: &str) -> Result<(), Failure> {
    std::fs::write(path, value).map_err(|e| {
        Failure::Message(format!(
            "writing {path}: {e}{}",
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                "; run as root (in the initial user namespace: a container cannot set it)"
            } else {
                ""
            }
        ))
    })
}

/// Whether `pattern` is a pipe into a `coroner crash-handler run`.
fn is_ours(pattern: &str) -> bool {
    pattern.starts_with('|') && pattern.contains(" crash-handler run ")
}

fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    std::path::absolute(path).map_err(|e| Failure::Message(format!("{}: {e}", path.display())))
}

fn install(args: &InstallArgs) -> Result<(), Failure> {
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| format!("finding coroner's own executable: {e}"))?;
    let config_path = absolute(&args.config)?;
    let dir = absolute(&args.dir)?;
    let pattern = pipe_pattern(&exe, &config_path).map_err(|e| e.to_string())?;
    // The store must be usable before the kernel starts sending cores.
    Store::open(&dir, true).map_err(|e| e.to_string())?;

    let mut policy = Policy::default();
    policy.compress = args.compress;
    policy.compress_level = args.compress_level;
    policy.compress_threads = args.compress_threads;
    policy.minidump = args.minidump;
    policy.max_process_size = args.max_process_size;
    policy.max_use = args.max_use;
    policy.keep_free = args.keep_free;
    policy.rate_limit = (!args.no_rate_limit).then_some(args.rate_limit);
    policy.record_environ = !args.no_environ;
    let mut config = HandlerConfig::new(dir, policy);

    let current_pattern = read_setting(CORE_PATTERN)?;
    let current_limit = read_setting(CORE_PIPE_LIMIT)?;
    if is_ours(&current_pattern) {
        // Reinstalling: keep what the first install replaced.
        let old = HandlerConfig::load(&config_path).map_err(|e| {
            format!(
                "core_pattern already pipes to a coroner handler ({current_pattern}) but its \
                 config cannot be read ({e}); run `coroner crash-handler uninstall` with that \
                 handler's --config first"
            )
        })?;
        config.previous_core_pattern = old.previous_core_pattern;
        config.previous_core_pipe_limit = old.previous_core_pipe_limit;
    } else {
        config.previous_core_pattern = Some(current_pattern);
        config.previous_core_pipe_limit = current_limit.trim().parse().ok();
    }
    config.installed_core_pattern = Some(pattern.clone());
    config.save(&config_path).map_err(|e| e.to_string())?;

    write_setting(CORE_PIPE_LIMIT, &args.pipe_limit.to_string())?;
    if let Err(e) = write_setting(CORE_PATTERN, &pattern) {
        let _ = write_setting(CORE_PIPE_LIMIT, &current_limit);
        return Err(e);
    }
    let set = read_setting(CORE_PATTERN)?;
    if set != pattern {
        restore(&config)?;
        return Err(
            format!("the kernel kept core_pattern as {set:?}, not {pattern:?}; restored").into(),
        );
    }
    println!("installed: core_pattern = {pattern}");
    println!(
        "store: {}; config: {}",
        config.dir.display(),
        config_path.display()
    );
    Ok(())
}

fn restore(config: &HandlerConfig) -> Result<(), Failure> {
    write_setting(
        CORE_PATTERN,
        config.previous_core_pattern.as_deref().unwrap_or("core"),
    )?;
    write_setting(
        CORE_PIPE_LIMIT,
        &config.previous_core_pipe_limit.unwrap_or(0).to_string(),
    )
}

fn uninstall(config_path: &Path) -> Result<(), Failure> {
    let current = read_setting(CORE_PATTERN)?;
    let config = HandlerConfig::load(config_path).map_err(|e| {
        format!("{e}; without it the previous core_pattern is unknown (core_pattern is now {current:?})")
    })?;
    if !is_ours(&current) {
        println!("not installed: core_pattern is {current:?}; nothing changed");
        return Ok(());
    }
    restore(&config)?;
    println!(
        "uninstalled: core_pattern = {}, core_pipe_limit = {}",
        config.previous_core_pattern.as_deref().unwrap_or("core"),
        config.previous_core_pipe_limit.unwrap_or(0)
    );
    Ok(())
}

fn status(config_path: &Path) -> Result<(), Failure> {
    let pattern = read_setting(CORE_PATTERN)?;
    let limit = read_setting(CORE_PIPE_LIMIT)?;
    let installed = is_ours(&pattern);
    println!(
        "core_pattern: {pattern}\ncore_pipe_limit: {limit}\ncoroner handler: {}",
        if installed {
            "installed"
        } else {
            "not installed"
        }
    );
    match HandlerConfig::load(config_path) {
        Ok(config) => {
            println!("config: {}", config_path.display());
            println!("store: {}", config.dir.display());
            let p = &config.policy;
            println!(
                "compress: {}; minidump: {}; max-process-size: {}; max-use: {}; keep-free: {}; rate limit: {}; environment: {}",
                if p.compress { format!("zstd -{}", p.compress_level) } else { "no".into() },
                if p.minidump { "yes" } else { "no" },
                p.max_process_size.map_or("none".into(), size),
                p.max_use.map_or("10% (at most 4 GiB)".into(), size),
                p.keep_free.map_or("15% (at most 4 GiB)".into(), size),
                p.rate_limit.map_or("none".into(), |r| format!("{}/{} s", r.burst, r.interval_seconds)),
                if p.record_environ { "recorded" } else { "omitted" },
            );
            println!(
                "replaced: core_pattern {:?}, core_pipe_limit {}",
                config.previous_core_pattern.as_deref().unwrap_or("core"),
                config.previous_core_pipe_limit.unwrap_or(0)
            );
            if let Ok(store) = Store::open(&config.dir, false) {
                let entries = store.entries().map_err(|e| e.to_string())?;
                println!(
                    "stored: {} crashes, {} on disk",
                    entries.len(),
                    size(entries.iter().map(|e| e.allocated()).sum())
                );
            }
            if installed && config.installed_core_pattern.as_deref() != Some(pattern.as_str()) {
                println!("note: core_pattern is another coroner handler's, not this config's");
            }
        }
        Err(e) if installed => println!("config: {e}"),
        Err(_) => {}
    }
    Ok(())
}

fn run_handler(args: &RunArgs) -> Result<(), Failure> {
    let facts = KernelFacts::from_args(&args.specifiers).map_err(|e| {
        coroner_store::log::log(coroner_store::log::ERR, &e.to_string());
        e.to_string()
    })?;
    let config = HandlerConfig::load(&args.config).map_err(|e| {
        coroner_store::log::log(
            coroner_store::log::ERR,
            &format!(
                "not storing the crash of pid {} ({}): {e}",
                facts.pid,
                String::from_utf8_lossy(&facts.comm)
            ),
        );
        e.to_string()
    })?;
    let mut stdin = std::io::stdin().lock();
    handle_crash(&config, &facts, &mut stdin, Path::new("/proc")).map_err(|e| {
        // An unusable store was already logged, with the crash's summary.
        if !matches!(e, coroner_store::StoreError::Unusable { .. }) {
            coroner_store::log::log(
                coroner_store::log::ERR,
                &format!("crash of pid {}: {e}", facts.pid),
            );
        }
        e.to_string()
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
