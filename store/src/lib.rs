//! A crash dump store for Linux: what `coroner crash-handler` and
//! `coroner crashes` are made of, usable on its own.
//!
//! - [`kernel`]: the `core_pattern` that pipes cores to a handler, and the
//!   facts the kernel passes it ([`KernelFacts`]);
//! - [`receive`]: a core read from the pipe into a sparse file (zero pages
//!   become holes) or a zstd stream, its threads read from its notes;
//! - [`metadata`]: the JSON record beside each core ([`CrashMetadata`]),
//!   gathered from `/proc` while the kernel holds the process;
//! - [`store`]: one directory per crash, published atomically; listing and
//!   lookup ([`Store`]);
//! - [`retention`]: `--max-use`, `--keep-free`, the per-executable rate limit;
//! - [`handler`]: all of it for one crash ([`handle_crash`]);
//! - [`names`]: names made safe from what a crashing process controls.
//!
//! ```
//! use coroner_store::names::safe_component;
//! use coroner_store::Store;
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(&dir.path().join("crashes"), true)?;
//! assert!(store.entries()?.is_empty());
//! assert_eq!(store.new_id(1_700_000_000, 42, b"../x"), "1700000000.42.___x");
//! # let _ = safe_component;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod error;
pub mod handler;
pub mod kernel;
pub mod log;
pub mod metadata;
pub mod modules;
pub mod names;
pub mod policy;
pub mod receive;
pub mod retention;
pub mod store;
pub mod zst;

pub use error::StoreError;
pub use handler::{handle_crash, Outcome};
pub use kernel::KernelFacts;
pub use metadata::CrashMetadata;
pub use policy::{HandlerConfig, Policy, RateLimit};
pub use store::{Entry, Store};

/// The README's examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
