//! The modules of the process (from the dump's file mappings or module
//! list), each loaded from disk the first time a frame needs it and checked
//! against the build-id the dump records.

use std::ops::Range;
use std::path::{Path, PathBuf};

use object::Object;

use crate::image::Image;
use crate::locate::{hex, Options};
use crate::report::{ModuleProblem, ModuleReport};

/// A module as the dump describes it.
#[derive(Debug, Clone)]
pub(crate) struct ModuleSpec {
    /// The path the dump records.
    pub(crate) path: String,
    /// Address of file offset 0.
    pub(crate) base: u64,
    /// The address range the module occupies.
    pub(crate) range: Range<u64>,
    /// Its executable ranges (the whole range when the dump does not say).
    pub(crate) code: Vec<Range<u64>>,
    /// The build-id the dump records, if any.
    pub(crate) build_id: Option<Vec<u8>>,
    /// A file to read instead of the path under the sysroot (a live
    /// process's `/proc/PID/map_files/…`, which is the mapped file itself).
    pub(crate) file_override: Option<PathBuf>,
}

enum Load {
    NotTried,
    Loaded(Box<Image>),
    Failed(ModuleProblem),
}

/// One file mapping (from `NT_FILE` or `/proc/PID/maps`).
#[derive(Debug, Clone)]
pub(crate) struct FileMapping {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) file_offset: u64,
    pub(crate) path: String,
    /// `None` when the source does not say.
    pub(crate) executable: Option<bool>,
}

/// Group file mappings (sorted by address) into modules: a mapping at file
/// offset 0 starts one, the following mappings of the same path extend it.
pub(crate) fn modules_from_mappings(mut mappings: Vec<FileMapping>) -> Vec<ModuleSpec> {
    mappings.sort_by_key(|m| m.start);
    let mut out: Vec<ModuleSpec> = Vec::new();
    for m in mappings {
        let executable = m.executable.unwrap_or(true);
        let extends = out.last().is_some_and(|last| {
            last.path == m.path && m.file_offset != 0 && m.start >= last.range.end.min(m.start)
        });
        match out.last_mut() {
            Some(last) if extends => {
                last.range.end = last.range.end.max(m.end);
                if executable {
                    last.code.push(m.start..m.end);
                }
            }
            _ => out.push(ModuleSpec {
                path: m.path.clone(),
                base: m.start.saturating_sub(m.file_offset),
                range: m.start..m.end,
                code: std::iter::once(m.start..m.end)
                    .filter(|_| executable)
                    .collect(),
                build_id: None,
                file_override: None,
            }),
        }
    }
    out
}

/// The modules of a process, loaded on demand.
pub(crate) struct Modules {
    specs: Vec<ModuleSpec>,
    loads: Vec<Load>,
    options: Options,
}

impl Modules {
    pub(crate) fn new(mut specs: Vec<ModuleSpec>, options: &Options) -> Modules {
        specs.sort_by_key(|s| s.range.start);
        let loads = specs.iter().map(|_| Load::NotTried).collect();
        Modules {
            specs,
            loads,
            options: options.clone(),
        }
    }

    /// The module whose range holds `addr`.
    pub(crate) fn find(&self, addr: u64) -> Option<usize> {
        let index = self.specs.partition_point(|s| s.range.start <= addr);
        let index = index.checked_sub(1)?;
        self.specs
            .get(index)
            .filter(|s| s.range.contains(&addr))
            .map(|_| index)
    }

    /// How many modules there are.
    pub(crate) fn len(&self) -> usize {
        self.specs.len()
    }

    /// Whether module `index` was read already (successfully or not).
    pub(crate) fn is_loaded(&self, index: usize) -> bool {
        !matches!(self.loads.get(index), Some(Load::NotTried) | None)
    }

    pub(crate) fn spec(&self, index: usize) -> Option<&ModuleSpec> {
        self.specs.get(index)
    }

    /// Whether `addr` is in a module's code.
    pub(crate) fn is_code(&self, addr: u64) -> bool {
        self.find(addr)
            .and_then(|i| self.specs.get(i))
            .is_some_and(|s| s.code.iter().any(|r| r.contains(&addr)))
    }

    /// The loaded image of module `index` and its bias (load address minus
    /// the file's own address), loading it first if needed; `None` when it
    /// cannot be used.
    pub(crate) fn image(&mut self, index: usize) -> Option<(&Image, u64)> {
        if matches!(self.loads.get(index), Some(Load::NotTried)) {
            let spec = self.specs.get(index)?;
            let load = match load(spec, &self.options) {
                Ok(image) => Load::Loaded(Box::new(image)),
                Err(problem) => Load::Failed(problem),
            };
            if let Some(slot) = self.loads.get_mut(index) {
                *slot = load;
            }
        }
        let base = self.specs.get(index)?.base;
        match self.loads.get(index)? {
            Load::Loaded(image) => Some((image, base.wrapping_sub(image.offset_zero_vaddr))),
            _ => None,
        }
    }

    /// What became of each module that was looked at.
    pub(crate) fn report(&self) -> Vec<ModuleReport> {
        self.specs
            .iter()
            .zip(&self.loads)
            .filter(|(_, load)| !matches!(load, Load::NotTried))
            .map(|(spec, load)| {
                let (file, debug_file, problem) = match load {
                    Load::Loaded(image) => {
                        (Some(image.path.clone()), image.debug_path.clone(), None)
                    }
                    Load::Failed(problem) => (None, None, Some(problem.clone())),
                    Load::NotTried => (None, None, None),
                };
                ModuleReport {
                    path: spec.path.clone(),
                    base: spec.base,
                    build_id: spec.build_id.as_deref().map(hex),
                    file,
                    debug_file,
                    problem,
                }
            })
            .collect()
    }
}

/// Read the module's file, check its build-id, find its debug file.
fn load(spec: &ModuleSpec, options: &Options) -> Result<Image, ModuleProblem> {
    let path = spec
        .file_override
        .clone()
        .unwrap_or_else(|| options.module_path(&spec.path));
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ModuleProblem::NotFound {
            looked_at: path.clone(),
        },
        _ => ModuleProblem::Unreadable {
            reason: format!("{}: {e}", path.display()),
        },
    })?;
    let file = object::File::parse(&*bytes).map_err(|e| ModuleProblem::Unreadable {
        reason: format!("{}: {e}", path.display()),
    })?;
    let file_id = file.build_id().ok().flatten().map(<[u8]>::to_vec);
    if let Some(dump_id) = &spec.build_id {
        if file_id.as_deref() != Some(dump_id.as_slice()) {
            return Err(ModuleProblem::BuildIdMismatch {
                dump: hex(dump_id),
                file: file_id.as_deref().map_or_else(|| "none".to_owned(), hex),
            });
        }
    }
    let build_id = spec.build_id.clone().or(file_id);
    let debuglink = file
        .gnu_debuglink()
        .ok()
        .flatten()
        .and_then(|(name, _crc)| std::str::from_utf8(name).ok().map(str::to_owned));
    let module_path = options.module_path(&spec.path);
    let debug = find_debug_file(
        options,
        build_id.as_deref(),
        &module_path,
        debuglink.as_deref(),
    );
    let debug_file = debug
        .as_ref()
        .and_then(|(p, bytes)| object::File::parse(&**bytes).ok().map(|f| (p.clone(), f)));
    Ok(Image::new(
        path,
        &file,
        debug_file.as_ref().map(|(p, f)| (p.clone(), f)),
    ))
}

/// The first candidate debug file that exists and, when both have one,
/// carries the module's build-id.
fn find_debug_file(
    options: &Options,
    build_id: Option<&[u8]>,
    module: &Path,
    debuglink: Option<&str>,
) -> Option<(PathBuf, Vec<u8>)> {
    options
        .debug_candidates(build_id, module, debuglink)
        .into_iter()
        .filter(|candidate| candidate.as_path() != module)
        .find_map(|candidate| {
            let bytes = std::fs::read(&candidate).ok()?;
            let file = object::File::parse(&*bytes).ok()?;
            let id = file.build_id().ok().flatten();
            let matches = match (build_id, id) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            };
            matches.then_some((candidate, bytes))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(start: u64, end: u64, file_offset: u64, path: &str, x: bool) -> FileMapping {
        FileMapping {
            start,
            end,
            file_offset,
            path: path.to_owned(),
            executable: Some(x),
        }
    }

    #[test]
    fn mappings_group_into_modules_at_offset_zero() {
        let modules = modules_from_mappings(vec![
            mapping(0x2000, 0x3000, 0x1000, "/bin/a", true),
            mapping(0x1000, 0x2000, 0, "/bin/a", false),
            mapping(0x3000, 0x4000, 0x2000, "/bin/a", false),
            mapping(0x10000, 0x11000, 0, "/lib/b.so", false),
            mapping(0x11000, 0x12000, 0x1000, "/lib/b.so", true),
        ]);
        assert_eq!(modules.len(), 2);
        assert_eq!(modules[0].base, 0x1000);
        assert_eq!(modules[0].range, 0x1000..0x4000);
        assert_eq!(modules[0].code.len(), 1);
        assert_eq!(modules[0].code[0], 0x2000..0x3000);
        assert_eq!(modules[1].base, 0x10000);
        assert_eq!(modules[1].code.len(), 1);
        assert_eq!(modules[1].code[0], 0x11000..0x12000);
    }

    #[test]
    fn a_missing_file_is_reported_where_it_was_looked_for() {
        let spec = ModuleSpec {
            path: "/no/such/module.so".into(),
            base: 0x1000,
            range: 0x1000..0x2000,
            code: vec![],
            build_id: None,
            file_override: None,
        };
        let mut modules = Modules::new(
            vec![spec],
            &Options::default().with_sysroot(Some(PathBuf::from("/sysroot"))),
        );
        assert!(modules.image(0).is_none());
        assert_eq!(
            modules.report()[0].problem,
            Some(ModuleProblem::NotFound {
                looked_at: PathBuf::from("/sysroot/no/such/module.so")
            })
        );
    }
}
