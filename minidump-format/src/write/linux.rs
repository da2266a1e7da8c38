//! Breakpad's Linux streams: the `/proc` files as raw bytes, and DsoDebug
//! (`DSO_DEBUG_64` with its `LINK_MAP_64` array and their names).

use super::encode::{count32, rva, size_of};
use super::layout::{location, table_len, Planner};
use crate::error::WriteError;
use crate::model::{DsoDebug, LinuxStreams};
use crate::raw::{DSO_DEBUG_64, LINK_MAP_64, MINIDUMP_STREAM_TYPE as ST};

impl Planner {
    /// The text streams present, in a fixed order, then DsoDebug.
    pub(super) fn plan_linux_streams(&mut self, l: &LinuxStreams) -> Result<(), WriteError> {
        let texts = [
            (ST::LINUX_CPU_INFO, &l.cpu_info),
            (ST::LINUX_PROC_STATUS, &l.proc_status),
            (ST::LINUX_LSB_RELEASE, &l.lsb_release),
            (ST::LINUX_CMD_LINE, &l.cmd_line),
            (ST::LINUX_ENVIRON, &l.environ),
            (ST::LINUX_AUXV, &l.auxv),
            (ST::LINUX_MAPS, &l.maps),
        ];
        for (ty, bytes) in texts {
            if let Some(bytes) = bytes {
                let at = self.meta.location("Linux stream", bytes)?;
                self.add_stream(ty, at);
            }
        }
        if let Some(d) = &l.dso_debug {
            self.plan_dso_debug(d)?;
        }
        Ok(())
    }

    /// `DSO_DEBUG_64`, the `LINK_MAP_64` array it points at, then the
    /// names; the stream's size covers the structure and the array.
    fn plan_dso_debug(&mut self, d: &DsoDebug) -> Result<(), WriteError> {
        let m = &mut self.meta;
        m.align(8);
        let n = d.link_maps.len();
        let off = m.put("DSO_DEBUG_64", DSO_DEBUG_64::default())?;
        let entry = size_of::<LINK_MAP_64>();
        let len = table_len(n, entry);
        let table = m.reserve("LINK_MAP_64 array", len)?;
        for (i, lm) in d.link_maps.iter().enumerate() {
            let name = rva("link map name", m.string("link map name", &lm.name)?)?;
            let raw = LINK_MAP_64 {
                addr: lm.addr,
                name,
                ld: lm.ld,
            };
            m.put_at(
                "LINK_MAP_64",
                table.saturating_add(table_len(i, entry)),
                raw,
            )?;
        }
        let raw = DSO_DEBUG_64 {
            version: d.version,
            map: rva("link map", table)?,
            dso_count: count32("link map count", n)?,
            brk: d.brk,
            ldbase: d.ldbase,
            dynamic: d.dynamic,
        };
        m.put_at("DSO_DEBUG_64", off, raw)?;
        let size = len.saturating_add(size_of::<DSO_DEBUG_64>());
        self.add_stream(ST::LINUX_DSO_DEBUG, location("DsoDebug", off, size)?);
        Ok(())
    }
}
