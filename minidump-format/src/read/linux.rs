use scroll::{Pread, LE};

use super::exception::rebase;
use super::{read_at, read_string, Stream, Table, TableIter};
use crate::error::ReadError;
use crate::model;
use crate::raw::{DSO_DEBUG_64, LINK_MAP_64};

/// `MD_LINUX_AUXV` as (type, value) pairs; a trailing partial pair is ignored.
#[derive(Debug, Clone)]
pub struct Auxv<'a> {
    rest: &'a [u8],
}

impl<'a> Auxv<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Auxv { rest: data }
    }
}

impl Iterator for Auxv<'_> {
    type Item = (u64, u64);
    fn next(&mut self) -> Option<(u64, u64)> {
        let key: u64 = self.rest.pread_with(0, LE).ok()?;
        let value: u64 = self.rest.pread_with(8, LE).ok()?;
        self.rest = self.rest.get(16..).unwrap_or_default();
        Some((key, value))
    }
}

/// The `MD_LINUX_DSO_DEBUG` stream.
///
/// ```
/// use coroner_minidump_format::{model::*, parse, write::NoMemory};
/// let mut model = MinidumpModel::default();
/// model.linux.auxv = Some([6u64, 4096, 0, 0].iter().flat_map(|w| w.to_le_bytes()).collect());
/// model.linux.dso_debug = Some(DsoDebug {
///     version: 1,
///     link_maps: vec![LinkMap { addr: 0, name: "/lib/libc.so.6".into(), ld: 0x7f00_0000_1000 }],
///     ..DsoDebug::default()
/// });
/// let mut file = Vec::new();
/// model.write(&mut NoMemory, &mut file).unwrap();
/// let dump = parse(&file).unwrap();
/// assert_eq!(dump.linux_auxv().unwrap().unwrap().next(), Some((6, 4096)));
/// let dso = dump.linux_dso_debug().unwrap().unwrap();
/// assert_eq!(dso.link_maps().next().unwrap().unwrap().name, "/lib/libc.so.6");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DsoDebug<'a> {
    data: &'a [u8],
    /// The raw header.
    pub raw: DSO_DEBUG_64,
    table: Table<'a, LINK_MAP_64>,
}

impl<'a> DsoDebug<'a> {
    pub(crate) fn new(data: &'a [u8], stream: Stream<'a>) -> Result<Self, ReadError> {
        let raw: DSO_DEBUG_64 =
            read_at(stream.data, "DSO_DEBUG_64", 0).map_err(|e| rebase(e, stream.offset()))?;
        let table = Table::new(
            data,
            "LINK_MAP_64",
            raw.map.into(),
            raw.dso_count.into(),
            20,
            u64::MAX,
        )?;
        Ok(DsoDebug { data, raw, table })
    }

    /// The link map entries with their names, lazily.
    pub fn link_maps(&self) -> LinkMaps<'a> {
        LinkMaps {
            data: self.data,
            inner: self.table.iter(),
            failed: false,
        }
    }

    /// The owned model.
    pub fn to_model(&self) -> Result<model::DsoDebug, ReadError> {
        Ok(model::DsoDebug {
            version: self.raw.version,
            brk: self.raw.brk,
            ldbase: self.raw.ldbase,
            dynamic: self.raw.dynamic,
            link_maps: self.link_maps().collect::<Result<_, _>>()?,
        })
    }
}

/// Iterator over the link maps of a [`DsoDebug`].
#[derive(Debug, Clone)]
pub struct LinkMaps<'a> {
    data: &'a [u8],
    inner: TableIter<'a, LINK_MAP_64>,
    failed: bool,
}

impl Iterator for LinkMaps<'_> {
    type Item = Result<model::LinkMap, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        super::until_error(&mut self.failed, || {
            Some(self.inner.next()?.and_then(|m| {
                Ok(model::LinkMap {
                    addr: m.addr,
                    name: read_string(data, m.name.into())?,
                    ld: m.ld,
                })
            }))
        })
    }
}
