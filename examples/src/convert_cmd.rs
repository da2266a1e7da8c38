//! `coroner convert IN OUT [--to elf|minidump] [--memory stacks|heap|full] [--sysroot DIR]`.
//!
//! The input format is recognised by its magic bytes; the default output is
//! the other format. The output is written like a capture's: an unnamed
//! file in OUT's directory, mode 0600, sparse, linked into place only when
//! complete, never through a symlink, not replacing OUT without `--force`;
//! SIGINT, SIGTERM, SIGHUP or SIGQUIT remove it and exit with 128 + N.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use coroner_capture::convert::{convert_file_with, ConvertError, ConvertOptions, DumpFormat};
use coroner_capture::minidump::host_file::Sysroot;
use coroner_capture::sink::Sink;
use coroner_capture::{CaptureError, MemoryMode};

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
    /// The dump to convert (ELF core or minidump, auto-detected).
    pub input: PathBuf,
    /// Where to write the converted dump.
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
pub fn run(args: &ConvertArgs) -> Result<(), String> {
    let sink =
        Sink::create(&args.output, args.force).map_err(|e| crate::error_text::describe(&e))?;
    let sink = match crate::signals::stop_flag() {
        Some(flag) => sink.stop_when(flag),
        None => sink,
    };
    let to = args.to.map(|t| match t {
        ToFormat::Elf => DumpFormat::Elf,
        ToFormat::Minidump => DumpFormat::Minidump,
    });
    let mut options =
        ConvertOptions::new(to, args.memory).with_allow_truncated(args.allow_truncated);
    if let Some(dir) = &args.sysroot {
        options = options.with_sysroot(Sysroot::new(dir));
    }
    let r = convert_file_with(&args.input, &options, sink).map_err(|e| {
        if let Some((_, signal)) = crate::signals::received() {
            return format!(
                "{signal} received: conversion stopped, the partial {} removed",
                args.output.display()
            );
        }
        let hint = match &e {
            CaptureError::Convert(ConvertError::Truncated { .. }) => {
                "; convert what is present with --allow-truncated"
            }
            _ => "",
        };
        format!(
            "{}: {}{hint}",
            args.input.display(),
            crate::error_text::describe(&e)
        )
    })?;
    if let Some(t) = &r.truncation {
        eprintln!(
            "coroner: warning: {}: {}; that memory is not in {}",
            args.input.display(),
            t.describe(),
            args.output.display()
        );
    }
    eprintln!(
        "coroner: wrote {} ({} from {}): {} threads, {} memory ranges, {} bytes ({} on disk)",
        args.output.display(),
        name(r.to),
        name(r.from),
        r.threads,
        r.memory_ranges,
        r.bytes_written,
        r.bytes_allocated
    );
    Ok(())
}
