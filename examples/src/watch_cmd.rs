//! `coroner watch`: dump processes when a trigger fires (the triggers and
//! the loop are the `coroner-watch` library; this file parses the options,
//! takes each dump with `coroner-capture`, names and keeps the files, and
//! reports every event).
//!
//! Each event is one line on stderr, or with `--json` one JSON object per
//! line on stdout:
//!
//! ```json
//! {"event":"dump","pid":42,"name":"app","trigger":"cpu","measured":153.2,
//!  "measured_text":"153.2%","threshold":90.0,"threshold_text":"90.0%",
//!  "held_seconds":3.0,"file":"/var/dumps/app_42_cpu_20261129T031500.123Z.core",
//!  "bytes":12345678,"frozen_seconds":0.012,"mode":"freeze","snapshot_fallback":null}
//! ```
//! `mode` is `snapshot` when the dump was written from a copy-on-write copy
//! (`--snapshot`), with `snapshot_fallback` saying why a copy was asked for
//! and not used.
//! `event` is one of `watching`, `waiting`, `dump`, `skipped`, `removed`,
//! `failed`, `cooling-down`, `exited`, `problem`, `end`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::{ArgGroup, Args};
use coroner_capture::Selection;
use coroner_capture::Sink;
use coroner_capture::{CaptureOptions, MemoryMode};
use coroner_watch::naming::{render, NameParts, DEFAULT_TEMPLATE};
use coroner_watch::retention::{percent_of, Kept, Retention};
use coroner_watch::target::Target;
use coroner_watch::units::{
    parse_duration, parse_growth, parse_percent, parse_size, show_size, split_hold,
};
use coroner_watch::watcher::{self, Config, DumpOutcome, DumpRequest, End, Event, Handler};
use coroner_watch::{Condition, Trigger};
use serde_json::json;

use crate::error_text::{describe, Output};
use crate::failure::Failure;
use crate::output::note;
use crate::{Format, SnapshotArg};
use coroner_capture::CowMode;

/// Arguments of `coroner watch`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["pid", "name", "cgroup"])))]
#[command(group(ArgGroup::new("triggers").required(true).multiple(true).args([
    "cpu", "cpu_below", "memory", "memory_below", "growth", "oom_risk", "threads", "fds",
    "signal", "interval"])))]
pub struct WatchArgs {
    /// Watch this process; the watch ends when it exits.
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Watch every process whose comm, executable name or path matches this
    /// glob; waits for one to start and follows restarts (a process is
    /// known by pid and start time, so a reused pid is a new process).
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Watch every process of this cgroup (v1 or v2): a directory holding
    /// cgroup.procs, or a path relative to the hierarchies
    /// (`/system.slice/app.service`).
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<PathBuf>,

    /// CPU over the last poll interval at or above PCT (100 = one core).
    /// Any threshold may end with @DURATION: it must hold that long.
    #[arg(long, value_name = "PCT[@DURATION]")]
    pub cpu: Option<String>,
    /// CPU over the last poll interval below PCT.
    #[arg(long, value_name = "PCT[@DURATION]")]
    pub cpu_below: Option<String>,
    /// Anonymous resident memory + swap (RssAnon + VmSwap) at or above SIZE.
    #[arg(long, value_name = "SIZE[@DURATION]")]
    pub memory: Option<String>,
    /// Anonymous resident memory + swap below SIZE.
    #[arg(long, value_name = "SIZE[@DURATION]")]
    pub memory_below: Option<String>,
    /// Anonymous resident memory + swap grew by SIZE within DURATION (a leak).
    #[arg(long, value_name = "SIZE/DURATION[@DURATION]")]
    pub growth: Option<String>,
    /// The process's memory cgroup is within PCT of its limit, or reports
    /// reaching it (memory.events max/oom, v1 under_oom), reclaim over
    /// memory.high, or memory pressure (PSI some avg10 >= 10%).
    #[arg(long, value_name = "PCT[@DURATION]")]
    pub oom_risk: Option<String>,
    /// Threads at or above N.
    #[arg(long, value_name = "N[@DURATION]")]
    pub threads: Option<String>,
    /// Open file descriptors at or above N.
    #[arg(long, value_name = "N[@DURATION]")]
    pub fds: Option<String>,
    /// Dump when the process receives one of these signals, before its
    /// handler runs; the signal is then delivered as if nothing happened
    /// (names like USR1 or SIGUSR1, or numbers; comma-separated).
    #[arg(long, value_name = "SIG[,SIG...]", value_delimiter = ',', value_parser = parse_signal)]
    pub signal: Vec<i32>,
    /// Dump every DURATION.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Option<Duration>,
    /// How long every threshold must hold before it fires (a threshold's
    /// own @DURATION wins).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub hold: Option<Duration>,

    /// Dumps in all, then exit 0.
    #[arg(short = 'n', long = "count", value_name = "COUNT")]
    pub count: Option<u64>,
    /// Least time between two dumps of one process.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
    pub cooldown: Duration,
    /// Sampling interval.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s")]
    pub poll: Duration,

    /// Directory of the dumps.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// File name template: {name} {pid} {trigger} {time} (UTC, sortable)
    /// {n}; `.core` or `.dmp` is appended.
    #[arg(long, value_name = "TEMPLATE", default_value = DEFAULT_TEMPLATE)]
    pub template: String,
    /// The dumps of this watch together stay within SIZE: the oldest are
    /// removed first; a dump larger than SIZE alone is removed and logged.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_total: Option<u64>,
    /// Leave SIZE (or PCT% of the file system) free in --dir: the oldest
    /// dumps of this watch are removed first; a dump that cannot fit is
    /// skipped and logged.
    #[arg(long, value_name = "SIZE|PCT%")]
    pub keep_free: Option<String>,

    /// Dump format.
    #[arg(long, value_enum, default_value_t = Format::Elf)]
    pub format: Format,
    /// Minidump memory: stacks, heap or full (as `capture --memory`; here
    /// `--memory` is the memory trigger).
    #[arg(long, value_name = "stacks|heap|full")]
    pub minidump_memory: Option<MemoryMode>,
    /// coredump_filter bits instead of the target's own (hex, e.g. 0x33).
    #[arg(long, value_name = "MASK", value_parser = crate::parse_mask, conflicts_with = "all")]
    pub filter: Option<coroner_capture::CoredumpFilter>,
    /// Dump every readable mapping, MADV_DONTDUMP memory included.
    #[arg(long)]
    pub all: bool,
    /// Leave out mappings overlapping START-END (hex) or matching a glob.
    #[arg(long, value_name = "RANGE|GLOB", value_parser = crate::parse_exclude)]
    pub exclude: Vec<coroner_capture::Exclude>,
    /// Dump a copy-on-write copy the process makes of itself, as `capture
    /// --snapshot`: it is stopped for milliseconds, not the whole dump;
    /// falls back to the plain freeze with a warning when no copy can be
    /// made (`--snapshot=require` fails the dump instead). Not with
    /// --signal, whose trap holds the process for the whole dump anyway.
    #[arg(
        long,
        value_name = "require",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "prefer",
        value_enum,
        conflicts_with = "signal"
    )]
    pub snapshot: Option<SnapshotArg>,
    /// One JSON object per event on stdout instead of lines on stderr.
    #[arg(long)]
    pub json: bool,
}

/// `USR1`, `SIGUSR1` or a number.
fn parse_signal(text: &str) -> Result<i32, String> {
    const NAMES: [(&str, i32); 22] = [
        ("HUP", 1),
        ("INT", 2),
        ("QUIT", 3),
        ("ILL", 4),
        ("TRAP", 5),
        ("ABRT", 6),
        ("BUS", 7),
        ("FPE", 8),
        ("USR1", 10),
        ("SEGV", 11),
        ("USR2", 12),
        ("PIPE", 13),
        ("ALRM", 14),
        ("TERM", 15),
        ("CHLD", 17),
        ("CONT", 18),
        ("TSTP", 20),
        ("TTIN", 21),
        ("TTOU", 22),
        ("URG", 23),
        ("XCPU", 24),
        ("WINCH", 28),
    ];
    let t = text.trim().to_ascii_uppercase();
    let t = t.strip_prefix("SIG").unwrap_or(&t);
    let number = match t.parse::<i32>() {
        Ok(n) => n,
        Err(_) => NAMES
            .iter()
            .find(|(name, _)| *name == t)
            .map(|&(_, n)| n)
            .ok_or_else(|| format!("{text:?} is not a signal name such as USR1 or a number"))?,
    };
    match number {
        9 | 19 => Err(format!(
            "{text}: SIGKILL and SIGSTOP never reach a handler, so they cannot be caught before it"
        )),
        1..=64 => Ok(number),
        _ => Err(format!("{text}: signal numbers go from 1 to 64")),
    }
}

/// The triggers of the arguments.
fn triggers(args: &WatchArgs) -> Result<Vec<Trigger>, String> {
    let mut out = Vec::new();
    let mut add = |text: &Option<String>,
                   flag: &str,
                   make: &dyn Fn(&str) -> Result<Condition, String>|
     -> Result<(), String> {
        let Some(text) = text else { return Ok(()) };
        let (value, hold) = split_hold(text).map_err(|e| format!("--{flag}: {e}"))?;
        let condition = make(value).map_err(|e| format!("--{flag}: {e}"))?;
        let hold = hold.or(args.hold).unwrap_or(Duration::ZERO);
        out.push(Trigger::new(condition).held_for(hold));
        Ok(())
    };
    let count = |v: &str| {
        v.trim()
            .parse::<u64>()
            .map_err(|_| format!("{v:?} is not a count"))
    };
    add(&args.cpu, "cpu", &|v| {
        parse_percent(v).map(Condition::CpuAbove)
    })?;
    add(&args.cpu_below, "cpu-below", &|v| {
        parse_percent(v).map(Condition::CpuBelow)
    })?;
    add(&args.memory, "memory", &|v| {
        parse_size(v).map(Condition::MemoryAbove)
    })?;
    add(&args.memory_below, "memory-below", &|v| {
        parse_size(v).map(Condition::MemoryBelow)
    })?;
    add(&args.growth, "growth", &|v| {
        parse_growth(v).map(|(bytes, within)| Condition::Growth { bytes, within })
    })?;
    add(&args.oom_risk, "oom-risk", &|v| {
        parse_percent(v).and_then(|p| {
            if p <= 100.0 {
                Ok(Condition::OomRisk(p))
            } else {
                Err(format!("{v}: at most 100"))
            }
        })
    })?;
    add(&args.threads, "threads", &|v| {
        count(v).map(Condition::ThreadsAbove)
    })?;
    add(&args.fds, "fds", &|v| count(v).map(Condition::FdsAbove))?;
    if let Some(every) = args.interval {
        if every.is_zero() {
            return Err("--interval must not be zero".into());
        }
        out.push(Trigger::new(Condition::Every(every)));
    }
    Ok(out)
}

/// The CLI's side of the watch: captures, files, retention, reports.
struct Dumper<'a> {
    args: &'a WatchArgs,
    retention: Retention,
    /// Dumps of this watch still on disk, oldest first.
    kept: Vec<(PathBuf, u64)>,
}

impl Dumper<'_> {
    fn report(&self, value: serde_json::Value, line: String) {
        if self.args.json {
            let _ = crate::output::print(&format!("{value}\n"));
        } else {
            note(&format!("coroner watch: {line}"));
        }
    }

    fn extension(&self) -> &'static str {
        match self.args.format {
            Format::Elf => "core",
            Format::Minidump => "dmp",
        }
    }

    fn free(&self) -> u64 {
        coroner_capture::free_space(&self.args.dir).unwrap_or(u64::MAX)
    }

    fn kept_sizes(&self) -> Vec<Kept> {
        self.kept.iter().map(|&(_, bytes)| Kept { bytes }).collect()
    }

    fn remove_oldest(&mut self, n: usize, why: &str) {
        for (path, bytes) in self
            .kept
            .drain(..n.min(self.kept.len()))
            .collect::<Vec<_>>()
        {
            let removed = std::fs::remove_file(&path);
            self.report(
                json!({"event": "removed", "file": path, "bytes": bytes, "reason": why,
                       "error": removed.as_ref().err().map(|e| e.to_string())}),
                match removed {
                    Ok(()) => format!("removed {} ({}): {why}", path.display(), show_size(bytes)),
                    Err(e) => format!("could not remove {}: {e}", path.display()),
                },
            );
        }
    }

    fn capture(&self, pid: u32, path: &Path) -> Result<coroner_capture::CaptureReport, String> {
        let explain = |e: &(dyn std::error::Error + 'static)| describe(e, Output::OptionFile);
        let memory = self.args.minidump_memory.unwrap_or_default();
        let sink = if self.args.format == Format::Minidump && memory == MemoryMode::Stacks {
            Sink::create_buffered(path, false)
        } else {
            Sink::create(path, false)
        }
        .map_err(|e| explain(&e))?;
        let sink = match crate::signals::stop_flag() {
            Some(flag) => sink.stop_when(flag),
            None => sink,
        };
        let options = CaptureOptions::default()
            .with_selection(
                Selection::default()
                    .with_filter(self.args.filter)
                    .with_all(self.args.all)
                    .with_exclude(self.args.exclude.clone()),
            )
            .with_cow(match self.args.snapshot {
                None => CowMode::Off,
                Some(SnapshotArg::Prefer) => CowMode::Prefer,
                Some(SnapshotArg::Require) => CowMode::Require,
            });
        match self.args.format {
            Format::Elf => coroner_capture::capture_elf(pid, sink, &options),
            Format::Minidump => coroner_capture::capture_minidump(pid, sink, &options, memory),
        }
        .map_err(|e| explain(&e))
    }
}

impl Handler for Dumper<'_> {
    fn dump(&mut self, request: &DumpRequest<'_>) -> DumpOutcome {
        let f = request.firing;
        let why = format!(
            "{} {} (threshold {}{})",
            f.trigger,
            f.measured,
            f.threshold,
            if f.held.is_zero() {
                String::new()
            } else {
                format!(", held {:.1} s", f.held.as_secs_f64())
            }
        );
        let base = json!({"pid": request.pid, "name": request.name, "trigger": f.trigger,
            "measured": f.measured.number(), "measured_text": f.measured.to_string(),
            "threshold": f.threshold.number(), "threshold_text": f.threshold.to_string(),
            "held_seconds": f.held.as_secs_f64()});
        let with = |mut v: serde_json::Value, extra: serde_json::Value| {
            if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
                v.extend(extra.clone());
            }
            v
        };
        if self
            .retention
            .no_room_before(&self.kept_sizes(), self.free())
        {
            self.report(
                with(
                    base,
                    json!({"event": "skipped", "reason": "--keep-free: not enough free space"}),
                ),
                format!(
                    "pid {} ({}): {why}: dump skipped, less than --keep-free would stay free in {}",
                    request.pid,
                    request.name,
                    self.args.dir.display()
                ),
            );
            return DumpOutcome::Skipped;
        }
        let name = render(
            &self.args.template,
            &NameParts {
                name: request.name,
                pid: request.pid,
                trigger: f.trigger,
                time: SystemTime::now(),
                n: request.number,
            },
        );
        let path = self.args.dir.join(format!("{name}.{}", self.extension()));
        let report = match self.capture(request.pid, &path) {
            Ok(r) => r,
            Err(e) => {
                self.report(
                    with(base, json!({"event": "failed", "error": e})),
                    format!(
                        "pid {} ({}): {why}: dump failed: {e}",
                        request.pid, request.name
                    ),
                );
                return DumpOutcome::Failed;
            }
        };
        for w in &report.warnings {
            note(&format!("coroner watch: warning: {w}"));
        }
        let bytes = report.bytes_allocated;
        let plan = self
            .retention
            .after_dump(&self.kept_sizes(), bytes, self.free());
        if plan.drop_new {
            let _ = std::fs::remove_file(&path);
            self.report(
                with(base, json!({"event": "skipped", "bytes": bytes,
                    "reason": "the dump alone breaks --max-total or --keep-free"})),
                format!(
                    "pid {} ({}): {why}: dump of {} removed again: alone it breaks --max-total or --keep-free",
                    request.pid, request.name, show_size(bytes)
                ),
            );
            return DumpOutcome::Skipped;
        }
        self.remove_oldest(plan.remove_oldest, "--max-total/--keep-free");
        self.kept.push((path.clone(), bytes));
        self.report(
            with(
                base,
                json!({"event": "dump", "file": path, "bytes": bytes,
                "frozen_seconds": report.frozen.as_secs_f64(),
                "mode": if report.copy.used { "snapshot" } else { "freeze" },
                "snapshot_fallback": report.copy.fallback}),
            ),
            format!(
                "pid {} ({}): {why}: wrote {} ({}, {} threads), frozen {:.3} s{}",
                request.pid,
                request.name,
                path.display(),
                show_size(bytes),
                report.threads,
                report.frozen.as_secs_f64(),
                if report.copy.used {
                    " (dumped from a copy-on-write snapshot)"
                } else {
                    ""
                }
            ),
        );
        DumpOutcome::Written
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Watching { pid, name } => self.report(
                json!({"event": "watching", "pid": pid, "name": name}),
                format!("watching pid {pid} ({name})"),
            ),
            Event::Waiting => self.report(
                json!({"event": "waiting"}),
                "no matching process yet; waiting for one to start".to_owned(),
            ),
            Event::Exited { pid, name } => self.report(
                json!({"event": "exited", "pid": pid, "name": name}),
                format!("pid {pid} ({name}) exited"),
            ),
            Event::CoolingDown { pid, firing } => self.report(
                json!({"event": "cooling-down", "pid": pid, "trigger": firing.trigger,
                       "measured_text": firing.measured.to_string()}),
                format!(
                    "pid {pid}: {} {} ignored: cooling down from the last dump, or -n reached",
                    firing.trigger, firing.measured
                ),
            ),
            Event::Problem { pid, message } => self.report(
                json!({"event": "problem", "pid": pid, "message": message}),
                format!("pid {pid}: {message}"),
            ),
            _ => {}
        }
    }

    fn should_stop(&mut self) -> bool {
        crate::signals::received().is_some()
    }
}

/// `--keep-free` in bytes for the file system of `dir`.
fn keep_free_bytes(text: &str, dir: &Path) -> Result<u64, String> {
    if let Some(pct) = text.trim().strip_suffix('%') {
        let pct = parse_percent(pct).map_err(|e| format!("--keep-free: {e}"))?;
        let st = rustix::fs::statvfs(dir).map_err(|e| {
            format!(
                "--keep-free {text}: cannot read the size of {}: {e}",
                dir.display()
            )
        })?;
        Ok(percent_of(st.f_blocks.saturating_mul(st.f_frsize), pct))
    } else {
        parse_size(text).map_err(|e| format!("--keep-free: {e}"))
    }
}

/// Run the subcommand.
pub fn run(args: &WatchArgs) -> Result<(), Failure> {
    let triggers = triggers(args)?;
    if !args.dir.is_dir() {
        return Err(format!(
            "--dir {}: not a directory (create it first)",
            args.dir.display()
        )
        .into());
    }
    if args.poll.is_zero() {
        return Err("--poll must not be zero".into());
    }
    let target = match (&args.pid, &args.name, &args.cgroup) {
        (Some(pid), _, _) => Target::Pid(*pid),
        (_, Some(pattern), _) => Target::Name(
            glob::Pattern::new(pattern).map_err(|e| format!("--name {pattern:?}: {e}"))?,
        ),
        (_, _, Some(path)) => Target::Cgroup(path.clone()),
        _ => return Err("give --pid, --name or --cgroup".into()),
    };
    let keep_free = args
        .keep_free
        .as_deref()
        .map(|t| keep_free_bytes(t, &args.dir))
        .transpose()?;
    let mut config = Config::new(target, triggers, args.signal.clone());
    config.poll = args.poll;
    config.count = args.count;
    config.cooldown = args.cooldown;
    let mut dumper = Dumper {
        args,
        retention: Retention::new(args.max_total, keep_free),
        kept: Vec::new(),
    };
    let end = watcher::run(config, &mut dumper).map_err(|e| e.to_string())?;
    let (what, text) = match end {
        End::CountReached => (
            "count",
            format!("{} dumps written (-n); done", args.count.unwrap_or(0)),
        ),
        End::TargetExited { pid } => (
            "exited",
            format!("process {pid} exited; nothing left to watch, the watch ends"),
        ),
        End::Stopped => ("stopped", "stopped by a signal".to_owned()),
        _ => ("ended", "the watch ended".to_owned()),
    };
    dumper.report(json!({"event": "end", "reason": what}), text);
    match (end, crate::signals::received()) {
        (End::Stopped, Some((_, name))) => Err(format!("{name} received: watch stopped").into()),
        _ => Ok(()),
    }
}
