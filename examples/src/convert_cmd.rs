//! `coroner convert IN OUT [--to elf|minidump] [--memory stacks|heap|full] [--sysroot DIR]`.
//!
//! The input format is recognised by its magic bytes; the default output is
//! the other format. `-` as IN reads stdin, as OUT writes stdout. A file
//! output is written like a capture's: an unnamed file in OUT's directory,
//! mode 0600, sparse, linked into place only when complete, never through a
//! symlink, not replacing OUT without `--force`, and never replacing IN;
//! SIGINT, SIGTERM, SIGHUP or SIGQUIT remove it and exit with 128 + N.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use coroner_capture::Sink;
use coroner_capture::Sysroot;
use coroner_capture::{convert_file_with, ConvertError, ConvertOptions, DumpFormat};
use coroner_capture::{CaptureError, MemoryMode};

use crate::error_text::{describe, Output};
use crate::failure::Failure;
use crate::input::Input;
use crate::output::note;
use crate::units::{count, size};

/// Target format of `convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ToFormat {
    /// An ELF core file.
    Elf,
    /// A minidump.
    Minidump,
}

/// Arguments of `coroner convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The dump to convert (ELF core or minidump, recognised by its first
    /// bytes); `-` reads stdin.
    pub input: PathBuf,
    /// Where to write the converted dump; `-` writes stdout.
    pub output: PathBuf,
    /// Output format (default: the other one).
    #[arg(long, value_enum)]
    pub to: Option<ToFormat>,
    /// Memory of a minidump output: `stacks`, `heap` or `full`.
    #[arg(long, value_name = "stacks|heap|full", default_value = "stacks")]
    pub memory: MemoryMode,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Look up build-ids missing from the dump in the files it names, under
    /// DIR (`/` for this host's own files). Without it no file the dump
    /// names is opened: the paths in a dump are untrusted.
    #[arg(long, value_name = "DIR")]
    pub sysroot: Option<PathBuf>,
    /// Convert a truncated dump: what it holds is converted, what it lacks
    /// is left out (minidump: absent from the memory lists; ELF: PT_LOADs
    /// without file data) and listed in a warning. Without it a truncated
    /// dump is refused.
    #[arg(long)]
    pub allow_truncated: bool,
}

fn name(f: DumpFormat) -> &'static str {
    match f {
        DumpFormat::Elf => "ELF core",
        DumpFormat::Minidump => "minidump",
    }
}

/// Run the subcommand.
pub fn run(args: &ConvertArgs) -> Result<(), Failure> {
    let to_stdout = args.output.as_os_str() == "-";
    let output = if to_stdout {
        Output::Stream
    } else {
        Output::ArgumentFile
    };
    if !to_stdout && same_file(&args.input, &args.output) {
        return Err(Failure::Message(format!(
            "{} is both the input and the output: give another OUT path (the input is never replaced)",
            args.output.display()
        )));
    }
    let sink = if to_stdout {
        Sink::stream(crate::output::dump_stdout()?.lock())
    } else {
        Sink::create(&args.output, args.force).map_err(|e| describe(&e, output))?
    };
    let sink = match crate::signals::stop_flag() {
        Some(flag) => sink.stop_when(flag),
        None => sink,
    };
    let input = Input::open(&args.input)?;
    let to = args.to.map(|t| match t {
        ToFormat::Elf => DumpFormat::Elf,
        ToFormat::Minidump => DumpFormat::Minidump,
    });
    let mut options =
        ConvertOptions::new(to, args.memory).with_allow_truncated(args.allow_truncated);
    if let Some(dir) = &args.sysroot {
        options = options.with_sysroot(Sysroot::new(dir));
    }
    let out_shown = if to_stdout {
        "stdout".to_owned()
    } else {
        args.output.display().to_string()
    };
    let r = convert_file_with(&input.path, &options, sink).map_err(|e| {
        if let Some((_, signal)) = crate::signals::received() {
            return if to_stdout {
                format!("{signal} received: conversion stopped; the dump on stdout is incomplete")
            } else {
                format!("{signal} received: conversion stopped, the partial {out_shown} removed")
            };
        }
        // An error about the output names the output (a full disk is the
        // output's problem, not the input's); one about reading names the
        // input.
        let text = describe(&e, output);
        if matches!(e, CaptureError::Sink(_)) {
            // Sink errors name their path already.
            text
        } else if e.is_about_output() {
            format!("{out_shown}: {text}")
        } else {
            let hint = match &e {
                CaptureError::Convert(ConvertError::Truncated { .. }) => {
                    "; convert what is present with --allow-truncated"
                }
                _ => "",
            };
            format!("{}: {text}{hint}", input.shown)
        }
    })?;
    if let Some(t) = &r.truncation {
        note(&format!(
            "coroner: warning: {}: {}; that memory is not in {out_shown}",
            input.shown,
            t.describe()
        ));
    }
    note(&format!(
        "coroner: wrote {out_shown} ({} from {}): {}, {}, {} ({} on disk)",
        name(r.to),
        name(r.from),
        count(r.threads, "thread"),
        count(r.memory_ranges, "memory range"),
        size(r.bytes_written),
        size(r.bytes_allocated)
    ));
    Ok(())
}

/// Whether `a` and `b` name the same existing file.
#[cfg(unix)]
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    matches!(
        (a.canonicalize(), b.canonicalize()),
        (Ok(a), Ok(b)) if a == b
    )
}
