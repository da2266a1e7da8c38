//! `coroner`: memory dumps of live Linux processes, and a reader for them.
//!
//! ```text
//! coroner capture PID [-o PATH] [--format elf|minidump] [--memory stacks|heap|full]
//!                    [--filter MASK | --all] [--exclude RANGE|GLOB]... [--force] [--json]
//! coroner inspect FILE|- [--json]
//! coroner convert IN|- OUT|- [--to elf|minidump] [--memory stacks|heap|full] [--force]
//! coroner demo [--dir DIR]
//! coroner stack FILE|PID [--json] [--thread TID] [--sysroot DIR] [--debug-dir DIR]...
//! coroner crash-handler install|uninstall|status|run
//! coroner crashes list|info|debug|export
//! ```
//! Exit status: 0 success, 1 failure, 2 usage error.

// capture and demo read a live process: Linux only; elsewhere stand-ins
// that say so take their place (inspect and convert work everywhere).
#[cfg(target_os = "linux")]
mod capture_cmd;
mod convert_cmd;
#[cfg(target_os = "linux")]
mod crash_handler_cmd;
#[cfg(target_os = "linux")]
mod crashes_cmd;
#[cfg(target_os = "linux")]
mod demo;
mod error_text;
mod failure;
mod input;
mod inspect_cmd;
#[cfg_attr(target_os = "linux", allow(dead_code))]
mod needs_linux;
mod output;
mod sample;
mod shell_docs;
mod signals;
#[cfg(target_os = "linux")]
mod spill;
mod stack_cmd;
mod units;
mod version;
#[cfg(target_os = "linux")]
mod watch_cmd;

#[cfg(not(target_os = "linux"))]
use needs_linux::{capture_cmd, demo};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use coroner_capture::CoredumpFilter;

use crate::failure::Failure;

/// Memory dumps of live Linux processes (ELF cores and minidumps) for
/// post-mortem debugging.
#[derive(Debug, Parser)]
#[command(name = "coroner", version = version::VERSION, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Dump a live process to an ELF core or a minidump; the process keeps running.
    Capture(CaptureArgs),
    /// Summarise a dump: an ELF core (ours, the kernel's, gdb's) or a minidump.
    Inspect(InspectArgs),
    /// Start a bundled multi-threaded sample, capture it, inspect the core.
    Demo(DemoArgs),
    /// Convert an ELF core into a minidump or a minidump into an ELF core.
    Convert(convert_cmd::ConvertArgs),
    /// Every thread's symbolized backtrace from a dump or a live process.
    Stack(stack_cmd::StackArgs),
    /// Watch processes and dump them when a trigger fires (CPU, memory,
    /// growth, OOM risk, threads, fds, a signal, a timer).
    #[cfg(target_os = "linux")]
    Watch(Box<watch_cmd::WatchArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(shell_docs::CompletionsArgs),
    /// Print coroner's man page (roff, section 1) on stdout.
    Man,
    /// Run coroner as the system's core dump handler (core_pattern).
    #[cfg(target_os = "linux")]
    #[command(subcommand, name = "crash-handler")]
    CrashHandler(crash_handler_cmd::CrashHandlerCommand),
    /// The crashes the handler stored: list, info, debug, export.
    #[cfg(target_os = "linux")]
    #[command(subcommand)]
    Crashes(crashes_cmd::CrashesCommand),
    /// The sample process `demo` captures (internal).
    #[command(name = "sample-process", hide = true)]
    SampleProcess {
        /// Worker threads.
        #[arg(long, default_value_t = 4)]
        threads: usize,
        /// MiB of pattern data.
        #[arg(long, default_value_t = 4)]
        pattern_mib: usize,
    },
}

/// Output formats of `capture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An ELF core file, as the kernel writes (gdb, lldb, eu-stack …).
    Elf,
    /// A minidump (Breakpad/Crashpad tools, rust-minidump, lldb, Sentry …).
    Minidump,
}

/// Arguments of `coroner capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Process id of the live process to dump.
    pub pid: u32,
    /// Output path, `-` for stdout (default: `core.<PID>` for an ELF core,
    /// `<PID>.dmp` for a minidump, in the current directory).
    /// Into a pipe (`-o - | zstd`), the dump is first spilled to an unnamed
    /// temporary file so the process is resumed before the reader has it
    /// (see --spill, --no-spill).
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// With `-o -`: the directory of the spill file (default: $TMPDIR or
    /// /tmp); it needs free space for the dump's data.
    #[arg(long, value_name = "DIR", conflicts_with = "no_spill")]
    pub spill: Option<PathBuf>,
    /// With `-o -`: stream directly, using no disk; the process then stays
    /// stopped until the reader has taken the whole dump.
    #[arg(long)]
    pub no_spill: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Elf)]
    pub format: Format,
    /// Minidump memory: `stacks` (thread stacks and code around each pc),
    /// `heap` (plus writable anonymous memory) or `full` (everything the
    /// filter selects, like an ELF core); default `stacks`. Only with
    /// `--format minidump`: an ELF core always holds what the filter selects.
    #[arg(long, value_name = "stacks|heap|full")]
    pub memory: Option<coroner_capture::MemoryMode>,
    /// coredump_filter bits to use instead of the target's own (hex, e.g. 0x33;
    /// see core(5)).
    #[arg(long, value_name = "MASK", value_parser = parse_mask, conflicts_with = "all")]
    pub filter: Option<CoredumpFilter>,
    /// Dump every readable mapping, including MADV_DONTDUMP memory the program
    /// asked to keep out of dumps (may contain secrets). A stacks-only
    /// minidump then skips reading /proc/PID/smaps, whose cost grows with the
    /// target's resident memory.
    #[arg(long)]
    pub all: bool,
    /// Leave out mappings overlapping START-END (hex) or whose path matches a
    /// glob; repeatable.
    #[arg(long, value_name = "RANGE|GLOB", value_parser = parse_exclude)]
    pub exclude: Vec<coroner_capture::Exclude>,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Hold the dump in memory (page cache) while the process is stopped
    /// and write it to disk after it is resumed: the pause is a memory
    /// copy, at the cost of memory as large as the dump. `--json` says
    /// whether there is clearly room for it (available memory, cgroup limits).
    #[arg(long, conflicts_with = "direct")]
    pub page_cache: bool,
    /// Write the dump to disk with direct I/O while the process is stopped,
    /// with no write-behind: the pause lasts as long as the disk write,
    /// memory use stays a few MiB. The default also writes with direct
    /// I/O, but lets what the disk has not written yet wait in memory (at
    /// most 1 GiB; `--json` says how much), so the pause is about the time
    /// to read the process's memory.
    #[arg(long)]
    pub direct: bool,
    /// Print one JSON summary object on stdout (no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Dump a copy-on-write copy the process makes of itself (an injected
    /// raw clone): it is stopped only to read its registers and make the
    /// copy, milliseconds instead of the whole dump. Falls back to the
    /// plain freeze, with the reason as a warning, when a copy could hurt or
    /// cannot be made (seccomp, cgroup limits, …); `--snapshot=require`
    /// fails instead.
    #[arg(
        long,
        value_name = "require",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "prefer",
        value_enum
    )]
    pub snapshot: Option<SnapshotArg>,
    /// Do not pre-copy. By default an ELF capture reads the process's
    /// private anonymous memory while it runs, tracking its writes (the
    /// kernel's asynchronous userfaultfd write protection, Linux 6.7), and
    /// while it is stopped reads again only the pages written since; the
    /// dump is then written after it is resumed. It falls back to the
    /// plain freeze, saying why in `--json`, when writes cannot be tracked.
    #[arg(long)]
    pub no_pre_copy: bool,
}

/// `--snapshot` and `--snapshot=require`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SnapshotArg {
    /// Dump a copy, or fall back to freezing for the whole dump.
    Prefer,
    /// Dump a copy or fail.
    Require,
}

/// Arguments of `coroner inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The dump to read: an ELF core or a minidump (recognised by its first
    /// bytes); `-` reads stdin.
    pub file: PathBuf,
    /// Print the summary as one JSON object (schema `coroner-inspect/1`,
    /// described in the README).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `coroner demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the core file (default: a new directory under the
    /// system temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

fn parse_mask(s: &str) -> Result<CoredumpFilter, String> {
    match coroner_capture::parse_filter(s) {
        Some(v) => CoredumpFilter::from_bits(v.bits()).ok_or_else(|| {
            format!(
                "{:#x} has bits outside 0x1ff (see core(5), coredump_filter)",
                v.bits()
            )
        }),
        None => Err(format!("{s:?} is not a hex mask such as 0x33")),
    }
}

fn parse_exclude(s: &str) -> Result<coroner_capture::Exclude, String> {
    coroner_capture::Exclude::parse(s).map_err(|e| e.to_string())
}

/// Combinations of arguments clap cannot express; a usage error (status 2).
fn check_usage(command: &Command) {
    if let Command::Capture(args) = command {
        if args.memory.is_some() && args.format == Format::Elf {
            Cli::command()
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    "--memory chooses the memory of a minidump and needs --format minidump; \
                     an ELF core holds what the dump filter selects (see --filter, --all, --exclude)",
                )
                .exit();
        }
    }
}

/// Whether the command is `watch` (which also stops cleanly on SIGINT & co.).
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
fn is_watch(command: &Command) -> bool {
    #[cfg(target_os = "linux")]
    return matches!(command, Command::Watch(_));
    #[cfg(not(target_os = "linux"))]
    return false;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    check_usage(&cli.command);
    // Only the commands that write a dump stop cleanly on SIGINT & co.;
    // the others (and the sample process) keep the default actions.
    if matches!(cli.command, Command::Capture(_) | Command::Convert(_)) || is_watch(&cli.command) {
        if let Err(e) = signals::install() {
            output::note(&format!("coroner: warning: cannot handle SIGINT/SIGTERM ({e}); an interrupted dump may leave a temporary file"));
        }
    }
    let result = match cli.command {
        Command::Capture(args) => capture_cmd::run(&args),
        Command::Inspect(args) => inspect_cmd::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Convert(args) => convert_cmd::run(&args),
        Command::Stack(args) => stack_cmd::run(&args),
        #[cfg(target_os = "linux")]
        Command::Watch(args) => watch_cmd::run(&args),
        Command::Completions(args) => shell_docs::completions(&args, Cli::command()),
        Command::Man => shell_docs::man(Cli::command()),
        #[cfg(target_os = "linux")]
        Command::CrashHandler(command) => crash_handler_cmd::run(&command),
        #[cfg(target_os = "linux")]
        Command::Crashes(command) => crashes_cmd::run(&command),
        Command::SampleProcess {
            threads,
            pattern_mib,
        } => sample::run(threads, pattern_mib)
            .map_err(|e| Failure::Message(format!("sample process: {e}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let status = failure.report();
            match signals::received() {
                Some((signal, _)) => ExitCode::from(signals::exit_status(signal)),
                None => status,
            }
        }
    }
}
