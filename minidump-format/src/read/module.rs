use scroll::{Pread, LE};

use super::{bytes_at, read_string, Stream, Table, TableIter};
use crate::error::ReadError;
use crate::model;
use crate::raw::{self, MINIDUMP_MODULE};

const MODULE_SIZE: u64 = 108;

/// The ModuleList stream.
///
/// ```
/// use coroner_minidump_format::{model::*, parse, write::NoMemory};
/// let module = Module {
///     base: 0x5555_0000_0000,
///     size: 0x2000,
///     name: "/usr/bin/app".into(),
///     code_view: Some(CodeView::Elf { build_id: vec![0x12, 0x34, 0x56, 0x78] }),
///     ..Module::default()
/// };
/// let model = MinidumpModel { modules: vec![module], ..MinidumpModel::default() };
/// let mut file = Vec::new();
/// model.write(&mut NoMemory, &mut file).unwrap();
/// let dump = parse(&file).unwrap();
/// let m = dump.modules().unwrap().unwrap().iter().next().unwrap().unwrap();
/// assert_eq!(m.name().unwrap(), "/usr/bin/app");
/// assert_eq!(m.code_id().unwrap().as_deref(), Some("12345678"));
/// assert_eq!(m.debug_id().unwrap().as_deref(), Some("785634120000000000000000000000000"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ModuleList<'a> {
    data: &'a [u8],
    table: Table<'a, MINIDUMP_MODULE>,
}

impl<'a> ModuleList<'a> {
    pub(crate) fn new(data: &'a [u8], stream: Stream<'a>) -> Result<Self, ReadError> {
        let table = Table::counted(
            data,
            stream,
            "MINIDUMP_MODULE_LIST count",
            "MINIDUMP_MODULE",
            MODULE_SIZE,
        )?;
        Ok(ModuleList { data, table })
    }

    /// Number of modules.
    pub fn len(&self) -> u64 {
        self.table.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The modules, lazily; stops after the first error.
    pub fn iter(&self) -> ModuleIter<'a> {
        ModuleIter {
            data: self.data,
            inner: self.table.iter(),
        }
    }
}

/// Iterator over a [`ModuleList`].
#[derive(Debug, Clone)]
pub struct ModuleIter<'a> {
    data: &'a [u8],
    inner: TableIter<'a, MINIDUMP_MODULE>,
}

impl<'a> Iterator for ModuleIter<'a> {
    type Item = Result<Module<'a>, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        self.inner.next().map(|r| r.map(|raw| Module { data, raw }))
    }
}

/// One module.
#[derive(Debug, Clone, Copy)]
pub struct Module<'a> {
    data: &'a [u8],
    /// The raw entry.
    pub raw: MINIDUMP_MODULE,
}

/// A module's CodeView record, borrowed from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeView<'a> {
    /// "BpEL": an ELF build id.
    Elf {
        /// The build id.
        build_id: &'a [u8],
    },
    /// "RSDS": a PDB 7.0 reference.
    Pdb70 {
        /// GUID as stored.
        guid: [u8; 16],
        /// Age.
        age: u32,
        /// File name, up to (not including) the first NUL.
        file_name: &'a [u8],
    },
    /// Anything else.
    Other(&'a [u8]),
}

impl CodeView<'_> {
    /// The owned form.
    pub fn to_model(&self) -> model::CodeView {
        match *self {
            CodeView::Elf { build_id } => model::CodeView::Elf {
                build_id: build_id.to_vec(),
            },
            CodeView::Pdb70 {
                guid,
                age,
                file_name,
            } => model::CodeView::Pdb70 {
                guid,
                age,
                file_name: file_name.to_vec(),
            },
            CodeView::Other(b) => model::CodeView::Other(b.to_vec()),
        }
    }
}

/// Decode a CodeView record.
pub(crate) fn code_view(bytes: &[u8]) -> CodeView<'_> {
    let sig = bytes.pread_with::<u32>(0, LE).ok();
    match (sig, bytes.get(4..)) {
        (Some(raw::CV_SIGNATURE_ELF), Some(rest)) => CodeView::Elf { build_id: rest },
        (Some(raw::CV_SIGNATURE_PDB70), Some(rest)) => {
            let guid = rest.get(..16).and_then(|g| <[u8; 16]>::try_from(g).ok());
            let age = rest.pread_with::<u32>(16, LE).ok();
            let name = rest
                .get(20..)
                .and_then(|n| n.split(|b| *b == 0).next().filter(|_| n.contains(&0)));
            match (guid, age, name) {
                (Some(guid), Some(age), Some(file_name)) => CodeView::Pdb70 {
                    guid,
                    age,
                    file_name,
                },
                _ => CodeView::Other(bytes),
            }
        }
        _ => CodeView::Other(bytes),
    }
}

impl<'a> Module<'a> {
    /// Load address.
    pub fn base(&self) -> u64 {
        self.raw.base_of_image
    }

    /// Image size.
    pub fn size(&self) -> u32 {
        self.raw.size_of_image
    }

    /// The module's path.
    pub fn name(&self) -> Result<String, ReadError> {
        read_string(self.data, self.raw.module_name_rva.into())
    }

    /// The CodeView record, if any.
    pub fn code_view(&self) -> Result<Option<CodeView<'a>>, ReadError> {
        let l = self.raw.cv_record;
        if l.data_size == 0 {
            return Ok(None);
        }
        Ok(Some(code_view(bytes_at(
            self.data,
            "CodeView record",
            l.rva.into(),
            l.data_size.into(),
        )?)))
    }

    /// The misc record bytes, if any.
    pub fn misc_record(&self) -> Result<Option<&'a [u8]>, ReadError> {
        let l = self.raw.misc_record;
        if l.data_size == 0 {
            return Ok(None);
        }
        bytes_at(self.data, "misc record", l.rva.into(), l.data_size.into()).map(Some)
    }

    /// The code id tools show: the ELF build id in hex.
    pub fn code_id(&self) -> Result<Option<String>, ReadError> {
        Ok(self.code_view()?.and_then(|cv| cv.to_model().code_id()))
    }

    /// The Breakpad debug id.
    pub fn debug_id(&self) -> Result<Option<String>, ReadError> {
        Ok(self.code_view()?.and_then(|cv| cv.to_model().debug_id()))
    }

    /// The owned model of this module.
    pub fn to_model(&self) -> Result<model::Module, ReadError> {
        Ok(model::Module {
            base: self.raw.base_of_image,
            size: self.raw.size_of_image,
            checksum: self.raw.checksum,
            time_date_stamp: self.raw.time_date_stamp,
            name: self.name()?,
            version_info: self.raw.version_info,
            code_view: self.code_view()?.map(|c| c.to_model()),
            misc_record: self.misc_record()?.map(<[u8]>::to_vec),
        })
    }
}
