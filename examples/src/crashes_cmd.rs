//! `coroner crashes list|info|debug|export`: the stored crashes, as
//! `coredumpctl` shows them. A crash is named by its id, a unique prefix of
//! it, or a pid (its latest crash).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, Subcommand};
use coroner_store::{CrashMetadata, Entry, HandlerConfig, Store};

use crate::crash_handler_cmd::{DEFAULT_CONFIG, DEFAULT_DIR};
use crate::failure::Failure;
use crate::units::size;

/// `coroner crashes …`.
#[derive(Debug, Subcommand)]
pub enum CrashesCommand {
    /// List the stored crashes, oldest first.
    List {
        #[command(flatten)]
        store: StoreArg,
        /// One JSON array of the crashes' metadata on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show everything recorded about one crash.
    Info {
        #[command(flatten)]
        store: StoreArg,
        /// Crash id, id prefix or pid.
        id: String,
        /// The metadata as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Open the crash's core in gdb with its executable (arguments after
    /// `--` go to gdb, e.g. `-- -batch -ex bt`).
    Debug {
        #[command(flatten)]
        store: StoreArg,
        /// Crash id, id prefix or pid.
        id: String,
        /// The debugger to run.
        #[arg(long, default_value = "gdb")]
        debugger: PathBuf,
        /// Extra debugger arguments.
        #[arg(last = true)]
        args: Vec<OsString>,
    },
    /// Copy a crash's files (core, minidump, metadata.json) into DIR.
    Export {
        #[command(flatten)]
        store: StoreArg,
        /// Crash id, id prefix or pid.
        id: String,
        /// Where to copy them (created if missing).
        dest: PathBuf,
    },
}

/// Which store.
#[derive(Debug, Args)]
pub struct StoreArg {
    /// Store directory [default: the installed handler's, else /var/lib/coroner/crashes].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The handler config naming the store.
    #[arg(long, short = 'c', default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
}

impl StoreArg {
    fn open(&self) -> Result<Store, Failure> {
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => HandlerConfig::load(&self.config)
                .map_or_else(|_| PathBuf::from(DEFAULT_DIR), |c| c.dir),
        };
        Store::open(&dir, false).map_err(|e| Failure::Message(e.to_string()))
    }
}

fn find(store: &StoreArg, id: &str) -> Result<Entry, Failure> {
    store
        .open()?
        .find(id)
        .map_err(|e| Failure::Message(e.to_string()))
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    crate::output::print(&format!("{text}\n"))
}

/// Run `crashes SUBCOMMAND`.
pub fn run(command: &CrashesCommand) -> Result<(), Failure> {
    match command {
        CrashesCommand::List { store, json } => list(store, *json),
        CrashesCommand::Info { store, id, json } => info(&find(store, id)?, *json),
        CrashesCommand::Debug {
            store,
            id,
            debugger,
            args,
        } => debug(&find(store, id)?, debugger, args),
        CrashesCommand::Export { store, id, dest } => export(&find(store, id)?, dest),
    }
}

fn list(store: &StoreArg, json: bool) -> Result<(), Failure> {
    let entries = store.open()?.entries().map_err(|e| e.to_string())?;
    if json {
        let all: Vec<&CrashMetadata> = entries.iter().filter_map(|e| e.metadata.as_ref()).collect();
        return print_json(&all);
    }
    let mut out = format!(
        "{:<40} {:>8} {:>6} {:<8} {:>10} {:<8} EXE\n",
        "ID", "PID", "UID", "SIGNAL", "SIZE", "STORED"
    );
    for e in &entries {
        let Some(m) = &e.metadata else {
            out.push_str(&format!("{:<40} (metadata unreadable)\n", e.id));
            continue;
        };
        let stored = match (&m.stored.core, m.stored.compressed) {
            (Some(_), true) => "core.zst",
            (Some(_), false) => "core",
            (None, _) => "none",
        };
        out.push_str(&format!(
            "{:<40} {:>8} {:>6} {:<8} {:>10} {:<8} {}\n",
            e.id,
            m.pid,
            m.uid,
            m.signal_name,
            size(e.allocated()),
            stored,
            coroner_store::names::printable(m.exe.as_deref().unwrap_or(&m.comm).as_bytes())
        ));
    }
    crate::output::print(&out)
}

fn info(entry: &Entry, json: bool) -> Result<(), Failure> {
    let m = entry.metadata.as_ref().ok_or_else(|| {
        format!(
            "{}: metadata.json is missing or unreadable",
            entry.dir.display()
        )
    })?;
    if json {
        return print_json(m);
    }
    let p = |s: &str| coroner_store::names::printable(s.as_bytes());
    let opt = |s: &Option<String>| s.as_deref().map_or("-".to_owned(), p);
    let mut out = String::new();
    out.push_str(&format!("id: {}\n", m.id));
    out.push_str(&format!(
        "pid: {} (in its namespace: {}{})\n",
        m.pid,
        m.ns_pid,
        if m.in_pid_namespace {
            ", a container"
        } else {
            ""
        }
    ));
    out.push_str(&format!(
        "crashing thread: {} (in its namespace: {})\n",
        m.tid, m.ns_tid
    ));
    out.push_str(&format!("signal: {} ({})\n", m.signal, m.signal_name));
    out.push_str(&format!(
        "time: {} (seconds since the epoch)\n",
        m.timestamp
    ));
    out.push_str(&format!("uid/gid: {}/{}\n", m.uid, m.gid));
    out.push_str(&format!(
        "hostname: {}\ncomm: {}\nexe: {}\n",
        p(&m.hostname),
        p(&m.comm),
        opt(&m.exe)
    ));
    out.push_str(&format!(
        "cmdline: {}\n",
        m.cmdline.iter().map(|a| p(a)).collect::<Vec<_>>().join(" ")
    ));
    out.push_str(&format!("cwd: {}\nroot: {}\n", opt(&m.cwd), opt(&m.root)));
    out.push_str(&format!(
        "cgroup: {}\nunit: {}\nslice: {}\ncontainer: {}\n",
        opt(&m.cgroup),
        opt(&m.unit),
        opt(&m.slice),
        opt(&m.container_id)
    ));
    out.push_str(&format!(
        "core rlimit: {}\n",
        m.core_rlimit.map_or("unlimited".into(), |v| v.to_string())
    ));
    out.push_str(&format!("open fds: {}\n", m.open_fds.len()));
    let lines = |t: &Option<String>| {
        t.as_deref()
            .map_or("-".to_owned(), |t| t.lines().count().to_string())
    };
    out.push_str(&format!(
        "maps: {} mappings; mountinfo: {} mounts; environment: {} (in metadata.json, `--json`)\n",
        lines(&m.proc_maps),
        lines(&m.proc_mountinfo),
        m.environ
            .as_ref()
            .map_or("not recorded".to_owned(), |e| format!(
                "{} variables",
                e.len()
            ))
    ));
    if !m.truncated.is_empty() {
        out.push_str(&format!(
            "cut at the handler's bound: {}\n",
            m.truncated.join(", ")
        ));
    }
    out.push_str(&format!("threads in the core: {:?}\n", m.core_threads));
    out.push_str(&format!("modules: {}\n", m.modules.len()));
    for module in &m.modules {
        out.push_str(&format!(
            "  {:#x} {} {}{}\n",
            module.start,
            module.build_id.as_deref().unwrap_or("-"),
            p(&module.path),
            module
                .package
                .as_deref()
                .map(|pk| format!(" package {}", p(pk)))
                .unwrap_or_default()
        ));
    }
    match &m.stored.core {
        Some(name) => out.push_str(&format!(
            "core: {} ({} bytes, {} on disk, received in {:.3} s)\n",
            entry.dir.join(name).display(),
            m.stored.core_size,
            size(m.stored.core_allocated),
            m.stored.receive_seconds
        )),
        None => out.push_str("core: not stored\n"),
    }
    if let Some(md) = &m.stored.minidump {
        out.push_str(&format!("minidump: {}\n", entry.dir.join(md).display()));
    }
    if let Some(why) = &m.stored.skipped {
        out.push_str(&format!("note: {}\n", p(why)));
    }
    crate::output::print(&out)
}

/// The core as a plain file: itself, or decompressed into a temporary file.
fn plain_core(entry: &Entry) -> Result<(PathBuf, Option<tempfile::TempDir>), Failure> {
    let core = entry.core_path().ok_or_else(|| {
        let why = entry
            .metadata
            .as_ref()
            .and_then(|m| m.stored.skipped.clone());
        format!(
            "crash {} has no stored core{}",
            entry.id,
            why.map(|w| format!(": {w}")).unwrap_or_default()
        )
    })?;
    let compressed = entry.metadata.as_ref().is_some_and(|m| m.stored.compressed);
    if !compressed {
        return Ok((core, None));
    }
    let tmp = tempfile::Builder::new()
        .prefix(".coroner-crash-")
        .tempdir()
        .map_err(|e| format!("creating a temporary directory to decompress the core in: {e}"))?;
    let plain = tmp.path().join("core");
    let mut out = std::fs::File::create(&plain).map_err(|e| e.to_string())?;
    let input = std::fs::File::open(&core).map_err(|e| format!("{}: {e}", core.display()))?;
    coroner_store::zst::decompress_sparse(input, &mut out)
        .map_err(|e| format!("decompressing {}: {e}", core.display()))?;
    Ok((plain, Some(tmp)))
}

fn debug(entry: &Entry, debugger: &Path, args: &[OsString]) -> Result<(), Failure> {
    let (core, _tmp) = plain_core(entry)?;
    let exe = entry.metadata.as_ref().and_then(|m| m.exe.clone());
    let mut cmd = Command::new(debugger);
    cmd.args(args);
    match exe
        .as_deref()
        .map(|e| e.trim_end_matches(" (deleted)"))
        .filter(|e| Path::new(e).is_file())
    {
        Some(exe) => {
            cmd.arg(exe);
        }
        None => crate::output::note(&format!(
            "coroner: the executable {} is not on this machine; gdb reads what the core holds",
            exe.as_deref().unwrap_or("(unknown)")
        )),
    }
    cmd.arg(&core);
    let status = cmd.status().map_err(|e| {
        format!(
            "running {}: {e}; install gdb or give --debugger",
            debugger.display()
        )
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} exited with {status}", debugger.display()).into())
    }
}

fn export(entry: &Entry, dest: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
    let mut copied = Vec::new();
    let files =
        std::fs::read_dir(&entry.dir).map_err(|e| format!("{}: {e}", entry.dir.display()))?;
    for file in files.filter_map(Result::ok) {
        if !file.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let name = file.file_name();
        let target = dest.join(format!("{}.{}", entry.id, name.to_string_lossy()));
        if std::fs::symlink_metadata(&target).is_ok() {
            return Err(format!(
                "{} already exists; export into an empty directory",
                target.display()
            )
            .into());
        }
        // std::fs::copy uses copy_file_range, which keeps holes on most file systems.
        std::fs::copy(file.path(), &target)
            .map_err(|e| format!("copying to {}: {e}", target.display()))?;
        copied.push(target);
    }
    for c in &copied {
        println!("{}", c.display());
    }
    Ok(())
}
