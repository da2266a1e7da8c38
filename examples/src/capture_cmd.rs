//! `coroner capture PID`.
//!
//! `--json` prints one object on stdout (on stderr when the core itself goes
//! to stdout with `-o -`):
//!
//! ```json
//! { "path": "core.1234" | null, "pid": 1234, "format": "elf",
//!   "threads": 9, "mappings": 40, "mappings_dumped": 25,
//!   "bytes_written": 77594624, "bytes_allocated": 67219456,
//!   "memory_bytes_read": 70000000,
//!   "wall_seconds": 0.12, "frozen_seconds": 0.08, "warnings": [],
//!   "spilled_to": "/tmp" | null,
//!   "mode": "freeze" | "snapshot", "snapshot_fallback": "…" | null,
//!   "pre_copy": { "used": true, "fallback": "…" | null,
//!                 "bytes_copied": 1000000, "bytes_clean": 990000,
//!                 "tracking_pause_seconds": 0.002 } }
//! ```
//! `pre_copy` says whether memory read before the freeze went into the dump
//! (`bytes_clean` of it, unchanged at the freeze, was not read again), or
//! why not, and how long the process was stopped to start tracking its
//! writes (a second, short pause besides `frozen_seconds`).
//! `mode` says whether the dump was written from a copy-on-write copy
//! (`--snapshot`); `snapshot_fallback` why a copy was asked for and not
//! used.
//! `bytes_written` is the logical file size, `bytes_allocated` what it
//! occupies on disk (holes are free). `spilled_to` is the directory a
//! `-o -` dump went through before stdout (see `spill.rs`).

use std::io::IsTerminal;
use std::path::PathBuf;

use coroner_capture::Selection;
use coroner_capture::Sink;
use coroner_capture::{CaptureOptions, CaptureReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::error_text::{describe, Output};
use crate::failure::Failure;
use crate::output::note;
use crate::units::{count, size};
use crate::{CaptureArgs, Format, SnapshotArg};
use coroner_capture::CowMode;

/// The `--json` summary of a capture.
#[derive(Debug, Serialize)]
pub struct CaptureJson {
    /// Final path of the dump, `null` when written to stdout.
    pub path: Option<PathBuf>,
    /// The process id.
    pub pid: u32,
    /// `"elf"` or `"minidump"`.
    pub format: &'static str,
    /// Threads written.
    pub threads: usize,
    /// Mappings of the process (each has a program header).
    pub mappings: usize,
    /// Mappings with at least one byte of content in the dump.
    pub mappings_dumped: usize,
    /// Logical size of the dump.
    pub bytes_written: u64,
    /// Bytes the dump occupies on disk.
    pub bytes_allocated: u64,
    /// Bytes of target memory read.
    pub memory_bytes_read: u64,
    /// Wall time of the whole capture, seconds (preparing the output
    /// included).
    pub wall_seconds: f64,
    /// Time the target was stopped, seconds.
    pub frozen_seconds: f64,
    /// Things that did not stop the capture but are worth knowing.
    pub warnings: Vec<String>,
    /// With `-o -`: the directory the dump was spilled to before the copy
    /// to stdout (the target was resumed before that copy, so
    /// `frozen_seconds` does not depend on the reader); `null` when it was
    /// streamed directly or written to a file.
    pub spilled_to: Option<PathBuf>,
    /// For a file: `"page-cache"` (held in memory while frozen, written
    /// after the thaw) or `"direct"` (written with direct I/O while frozen);
    /// `null` for `-o -`.
    pub output_path: Option<&'static str>,
    /// Why that output path: the flag that forced it, or the memory figures
    /// it was chosen on.
    pub output_path_reason: Option<String>,
    /// On the direct path: how many bytes of the dump were allowed to wait
    /// in memory for the disk, so the target was resumed before the disk
    /// had written them (0 with `--direct`); `null` for `-o -`.
    pub write_behind_bytes: Option<u64>,
    /// `"snapshot"` when the dump was written from a copy-on-write copy of
    /// the process, `"freeze"` when the process was held for the whole dump.
    pub mode: &'static str,
    /// Why `--snapshot` fell back to the freeze; `null` otherwise.
    pub snapshot_fallback: Option<String>,
    /// Zombie copies an earlier, killed `--snapshot` capture left among the
    /// process's children, reaped by this one.
    pub leftover_copies_reaped: Vec<u32>,
    /// The pre-copy (see the module docs).
    pub pre_copy: PreCopyJson,
}

/// `pre_copy` of [`CaptureJson`].
#[derive(Debug, Serialize)]
pub struct PreCopyJson {
    /// Whether memory read before the freeze went into the dump.
    pub used: bool,
    /// Why a pre-copy was asked for and not used; `null` otherwise.
    pub fallback: Option<String>,
    /// Bytes read before the freeze and kept (pages of zeros are not).
    pub bytes_copied: u64,
    /// Of those, bytes unchanged at the freeze, not read again.
    pub bytes_clean: u64,
    /// How long the process was stopped to start tracking its writes.
    pub tracking_pause_seconds: f64,
}

impl CaptureJson {
    /// From a capture report of a dump in `format` (`"elf"`, `"minidump"`).
    pub fn with_format(r: &CaptureReport, format: &'static str) -> CaptureJson {
        CaptureJson {
            path: r.path.clone(),
            pid: r.pid,
            format,
            threads: r.threads,
            mappings: r.mappings,
            mappings_dumped: r.mappings_dumped,
            bytes_written: r.bytes_written,
            bytes_allocated: r.bytes_allocated,
            memory_bytes_read: r.memory_bytes_read,
            wall_seconds: r.wall.as_secs_f64(),
            frozen_seconds: r.frozen.as_secs_f64(),
            warnings: r.warnings.clone(),
            spilled_to: None,
            output_path: None,
            output_path_reason: None,
            write_behind_bytes: None,
            mode: if r.copy.used { "snapshot" } else { "freeze" },
            snapshot_fallback: r.copy.fallback.clone(),
            leftover_copies_reaped: r.copy.reaped_leftovers.clone(),
            pre_copy: PreCopyJson {
                used: r.pre_copy.used,
                fallback: r.pre_copy.fallback.clone(),
                bytes_copied: r.pre_copy.bytes_copied,
                bytes_clean: r.pre_copy.bytes_clean,
                tracking_pause_seconds: r.pre_copy.tracking_pause.as_secs_f64(),
            },
        }
    }
}

/// Which output path a file dump takes, and why.
struct PathChoice {
    /// `"page-cache"` or `"direct"`.
    name: &'static str,
    /// Why, for `--json`.
    reason: String,
    /// The default direct path, whose reason is about the pause.
    advises_page_cache: bool,
    /// Bytes of the dump allowed to wait in memory for the disk.
    write_behind: u64,
    /// Whether the capture pre-copies (decided before the write-behind is
    /// made: a pre-copy makes none ahead).
    pre_copy: bool,
    /// Why a pre-copy was wanted and will not be tried.
    pre_copy_refusal: Option<String>,
}

/// `output_path_reason` of a default choice when the dump was written from
/// a copy-on-write snapshot: the room check's advice on `--page-cache` is
/// about the pause, which the write no longer lengthens.
const SNAPSHOT_REASON: &str = "the default, direct I/O; the dump was written from a copy-on-write \
    snapshot while the process ran, so the output path did not lengthen its pause (--page-cache \
    would only have held the dump in memory)";

/// The file output for `path` and which output path it takes, with why:
/// forced by `--page-cache` / `--direct`, else direct, with
/// [`coroner_capture::choose_output_path`]'s advice on `--page-cache`. The page cache's memory is
/// reserved here, before the capture freezes the target.
fn file_sink(
    args: &CaptureArgs,
    path: &std::path::Path,
    memory: coroner_capture::MemoryMode,
    explain: &dyn Fn(&(dyn std::error::Error + 'static)) -> String,
) -> Result<(Sink, PathChoice), String> {
    use coroner_capture::{choose_output_path, OutputPath};
    let describe = |e: coroner_capture::SinkError| explain(&e);
    // A stacks-only minidump is small: the page cache beats direct I/O's
    // writer thread and staging buffers there (0.8 ms of 3.8 measured).
    if args.format == Format::Minidump
        && memory == coroner_capture::MemoryMode::Stacks
        && !args.direct
    {
        let sink = Sink::create_buffered(path, args.force).map_err(describe)?;
        let why = "a stacks-only minidump is small: written through the page cache";
        let choice = PathChoice {
            name: OutputPath::PageCache.name(),
            reason: why.to_owned(),
            advises_page_cache: false,
            write_behind: 0,
            pre_copy: false,
            pre_copy_refusal: None,
        };
        return Ok((sink, choice));
    }
    let choice = choose_output_path(args.pid);
    let pre_copy_refusal = if pre_copy_wanted(args) {
        // A process that cannot be read fails the capture itself, with
        // the error it deserves.
        coroner_capture::pre_copy_refusal(args.pid).unwrap_or_else(|e| Some(e.to_string()))
    } else {
        None
    };
    let pre_copy = pre_copy_wanted(args) && pre_copy_refusal.is_none();
    let (path_kind, mut reason) = if args.page_cache {
        (OutputPath::PageCache, "--page-cache".to_owned())
    } else if args.direct {
        (
            OutputPath::Direct,
            "--direct: no write-behind, the pause lasts as long as the disk write".to_owned(),
        )
    } else {
        // Direct with write-behind by default: the pause is the read of the
        // target, not the disk write, as far as a bounded amount of memory
        // (Invariant 5: at most WRITE_BEHIND_MAX) can hold what the disk has
        // not taken yet; the wall time stays the disk's. Staging the whole
        // dump (--page-cache) is the opt-in for targets larger than that,
        // and the room check says whether it would be safe now.
        (OutputPath::Direct, String::new())
    };
    let mut sink = Sink::create(path, args.force).map_err(describe)?;
    let mut write_behind = 0;
    if path_kind == OutputPath::PageCache {
        // Forced with an unreadable estimate: reserve nothing ahead, the
        // memory is then allocated as the dump is written.
        let reserve = if choice.estimate == u64::MAX {
            0
        } else {
            choice.estimate
        };
        sink.stage_in_memory(reserve).map_err(describe)?;
    } else if !args.direct {
        // Its memory is made from here on: what the freeze is expected to
        // need now (sized from a sample of the target's memory), the rest
        // by a thread as the disk falls behind. A snapshot does not hold
        // the target while the dump is written: only a fallback to the
        // freeze would need memory made ahead, so none is.
        // (`made_ahead` itself says when there is nothing to make.)
        // Nor does a pre-copy, which reads most of the memory before the
        // freeze and writes the dump after it.
        let ahead = (args.snapshot.is_none() && !pre_copy).then(|| choice.made_ahead(args.pid));
        let ahead_bytes = ahead.as_ref().map_or(0, |a| a.bytes);
        write_behind = sink
            .write_behind_made_ahead(choice.write_behind, ahead_bytes)
            .map_err(describe)?;
        reason = if write_behind > 0 || choice.write_behind == 0 {
            match &ahead {
                Some(a) if write_behind > 0 => {
                    format!("the default: {}; {}", choice.write_behind_reason, a.reason)
                }
                None if pre_copy => format!(
                    "the default: {}; none of it made before the freeze: the process's memory \
                     is pre-copied before it, and the dump written after it",
                    choice.write_behind_reason
                ),
                _ => format!("the default: {}", choice.write_behind_reason),
            }
        } else {
            format!(
                "the default, with no write-behind: {}, less than two 4 MiB buffers (or no direct \
                 I/O on this file system)",
                choice.write_behind_reason
            )
        };
        if choice.estimate != u64::MAX && choice.estimate > choice.write_behind.max(8 << 20) {
            // The write-behind was capped below the dump's estimated data:
            // data beyond it is read at the disk's speed.
            let advice = match choice.path {
                OutputPath::PageCache => "--page-cache would shorten the pause",
                _ => "--page-cache is not advised now",
            };
            reason.push_str(&format!("; {advice}: {}", choice.reason));
        }
    }
    Ok((
        sink,
        PathChoice {
            name: path_kind.name(),
            reason,
            advises_page_cache: !args.page_cache && !args.direct,
            write_behind,
            pre_copy,
            pre_copy_refusal,
        },
    ))
}

/// Whether to pre-copy: ELF cores into a file on the default output path,
/// unless told not to. Not with `--direct`, whose point is a capturer of a
/// few MiB (a pre-copy holds up to the write-behind's bound), nor with
/// `--page-cache`, which already holds the whole dump in memory, nor into
/// stdout, whose spill file is what resumes the process early.
fn pre_copy_wanted(args: &CaptureArgs) -> bool {
    args.format == Format::Elf
        && args.snapshot.is_none()
        && !args.no_pre_copy
        && !args.direct
        && !args.page_cache
        && !matches!(args.output.as_deref(), Some(p) if p.as_os_str() == "-")
}

/// Run the subcommand.
pub fn run(args: &CaptureArgs) -> Result<(), Failure> {
    let to_stdout = args.output.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let output = if to_stdout {
        Output::Stream
    } else {
        Output::OptionFile
    };
    let explain = |e: &(dyn std::error::Error + 'static)| describe(e, output);
    if to_stdout {
        // Refuse a terminal or a closed stdout before the target is touched.
        crate::output::dump_stdout()?;
    }
    if args.all {
        note(&format!(
            "coroner: WARNING: --all dumps every readable mapping of {}, including memory the program \
             excluded with MADV_DONTDUMP (keys, passwords, caches); handle the file accordingly",
            args.pid
        ));
    }
    let memory = args.memory.unwrap_or_default();
    let mut output_choice = None;
    // Preparing the output (write-behind or staging memory made before the
    // freeze) counts in the wall time reported.
    let preparing = std::time::Instant::now();
    let (sink, spill_dir) = if to_stdout {
        crate::spill::stdout_sink(args)?
    } else {
        let path = args.output.clone().unwrap_or_else(|| match args.format {
            Format::Elf => PathBuf::from(format!("core.{}", args.pid)),
            Format::Minidump => PathBuf::from(format!("{}.dmp", args.pid)),
        });
        let (sink, choice) = file_sink(args, &path, memory, &explain)?;
        output_choice = Some(choice);
        (sink, None)
    };
    let prepared = preparing.elapsed();
    let sink = match crate::signals::stop_flag() {
        Some(flag) => sink.stop_when(flag),
        None => sink,
    };
    let bar = progress_bar(!args.json);
    let shown = bar.clone();
    let options = CaptureOptions::default()
        .with_selection(
            Selection::default()
                .with_filter(args.filter)
                .with_all(args.all)
                .with_exclude(args.exclude.clone()),
        )
        .with_cow(match args.snapshot {
            None => CowMode::Off,
            Some(SnapshotArg::Prefer) => CowMode::Prefer,
            Some(SnapshotArg::Require) => CowMode::Require,
        })
        .with_pre_copy(output_choice.as_ref().is_some_and(|c| c.pre_copy))
        .with_progress(move |p| {
            shown.set_length(p.total);
            shown.set_position(p.done);
        });
    let result = match args.format {
        Format::Elf => coroner_capture::capture_elf(args.pid, sink, &options),
        Format::Minidump => coroner_capture::capture_minidump(args.pid, sink, &options, memory),
    };
    bar.finish_and_clear();
    let report = result.map_err(|e| match crate::signals::received() {
        Some((_, signal)) if to_stdout => format!(
            "{signal} received: capture stopped, process {} resumed; the dump on stdout is incomplete",
            args.pid
        ),
        Some((_, signal)) => format!(
            "{signal} received: capture stopped, process {} resumed, the partial dump removed",
            args.pid
        ),
        None => match &spill_dir {
            Some(dir) => format!(
                "{} (the dump was spilled to {} on its way to stdout: free space there, choose \
                 another directory with --spill DIR, or stream directly with --no-spill)",
                explain(&e),
                dir.display()
            ),
            None => explain(&e),
        },
    })?;
    for w in &report.warnings {
        note(&format!("coroner: warning: {w}"));
    }
    if args.json {
        let format = match args.format {
            Format::Elf => "elf",
            Format::Minidump => "minidump",
        };
        let mut summary = CaptureJson::with_format(&report, format);
        summary.wall_seconds = (report.wall + prepared).as_secs_f64();
        summary.spilled_to.clone_from(&spill_dir);
        if let Some(choice) = output_choice {
            if summary.pre_copy.fallback.is_none() {
                summary.pre_copy.fallback = choice.pre_copy_refusal;
            }
            summary.output_path = Some(choice.name);
            summary.write_behind_bytes = Some(choice.write_behind);
            summary.output_path_reason = Some(if choice.advises_page_cache && report.copy.used {
                SNAPSHOT_REASON.to_owned()
            } else {
                choice.reason
            });
        }
        let json = serde_json::to_string(&summary).map_err(|e| explain(&e))?;
        if to_stdout {
            note(&json);
        } else {
            crate::output::print(&format!("{json}\n"))?;
        }
    } else {
        let dest = match (&report.path, &spill_dir) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(dir)) => format!("stdout (spilled to {} first)", dir.display()),
            (None, None) => "stdout".to_owned(),
        };
        note(&format!(
            "coroner: wrote {dest}: pid {}, {}, {}/{} mappings dumped, {} ({} on disk) \
             in {:.3} s, target frozen {:.3} s{}",
            report.pid,
            count(report.threads, "thread"),
            report.mappings_dumped,
            report.mappings,
            size(report.bytes_written),
            size(report.bytes_allocated),
            (report.wall + prepared).as_secs_f64(),
            report.frozen.as_secs_f64(),
            if report.copy.used {
                " (dumped from a copy-on-write snapshot)".to_owned()
            } else if report.pre_copy.used {
                format!(
                    " ({} pre-copied, {} of it unchanged; stopped {:.3} s before to track writes)",
                    size(report.pre_copy.bytes_copied),
                    size(report.pre_copy.bytes_clean),
                    report.pre_copy.tracking_pause.as_secs_f64()
                )
            } else {
                String::new()
            }
        ));
    }
    Ok(())
}

fn progress_bar(wanted: bool) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}
