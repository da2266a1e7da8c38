use std::collections::HashSet;
use std::ops::Deref;

use super::{
    DsoDebug, Exception, Memory64List, MemoryInfoList, MemoryList, Minidump, MiscInfo, ModuleList,
    SystemInfo, ThreadList, ThreadNames,
};
use crate::error::ReadError;
use crate::model::{MinidumpModel, RawStream, ThreadName};
use crate::raw::MINIDUMP_STREAM_TYPE as ST;

/// Build the owned model. The first stream of each known type fills its
/// field; later duplicates, unknown types and list streams with no entries
/// (the model's empty list means "no stream") go to `other_streams`, so that
/// writing the model back gives a file with the same model.
pub(crate) fn to_model<D: Deref<Target = [u8]>>(
    dump: &Minidump<D>,
) -> Result<MinidumpModel, ReadError> {
    let data = dump.data();
    let mut model = MinidumpModel {
        time_date_stamp: dump.header().time_date_stamp,
        flags: dump.header().flags,
        ..MinidumpModel::default()
    };
    let mut seen = HashSet::new();
    for stream in dump.streams() {
        let stream = stream?;
        let ty = stream.stream_type;
        let first = seen.insert(ty);
        let linux = &mut model.linux;
        let text = |slot: &mut Option<Vec<u8>>| *slot = Some(stream.data.to_vec());
        match ty {
            _ if !first => {}
            ST::THREAD_LIST => {
                let list: Vec<_> = ThreadList::new(data, stream)?
                    .iter()
                    .map(|t| t.and_then(|t| t.to_model()))
                    .collect::<Result<_, _>>()?;
                if !list.is_empty() {
                    model.threads = list;
                    continue;
                }
            }
            ST::MODULE_LIST => {
                let list: Vec<_> = ModuleList::new(data, stream)?
                    .iter()
                    .map(|m| m.and_then(|m| m.to_model()))
                    .collect::<Result<_, _>>()?;
                if !list.is_empty() {
                    model.modules = list;
                    continue;
                }
            }
            ST::MEMORY_LIST => {
                let list: Vec<_> = MemoryList::new(data, stream)?
                    .iter()
                    .map(|r| r.map(|r| r.range()))
                    .collect::<Result<_, _>>()?;
                if !list.is_empty() {
                    model.memory_list = list;
                    continue;
                }
            }
            ST::MEMORY64_LIST => {
                let list: Vec<_> = Memory64List::new(data, stream)?
                    .iter()
                    .map(|r| r.map(|r| r.range()))
                    .collect::<Result<_, _>>()?;
                if !list.is_empty() {
                    model.memory64_list = list;
                    continue;
                }
            }
            ST::EXCEPTION => {
                model.exception = Some(Exception::new(data, stream)?.to_model()?);
                continue;
            }
            ST::SYSTEM_INFO => {
                model.system_info = Some(SystemInfo::new(data, stream)?.to_model()?);
                continue;
            }
            ST::MISC_INFO => {
                model.misc_info = Some(MiscInfo::new(data, stream)?.to_model());
                continue;
            }
            ST::THREAD_NAMES => {
                let list: Vec<_> = ThreadNames::new(data, stream)?
                    .iter()
                    .map(|r| r.map(|(thread_id, name)| ThreadName { thread_id, name }))
                    .collect::<Result<_, _>>()?;
                if !list.is_empty() {
                    model.thread_names = list;
                    continue;
                }
            }
            ST::MEMORY_INFO_LIST => {
                let list: Vec<_> = MemoryInfoList::new(data, stream)?
                    .iter()
                    .collect::<Result<_, _>>()?;
                if !list.is_empty() {
                    model.memory_info = list;
                    continue;
                }
            }
            ST::LINUX_DSO_DEBUG => {
                linux.dso_debug = Some(DsoDebug::new(data, stream)?.to_model()?);
                continue;
            }
            ST::LINUX_CPU_INFO => {
                text(&mut linux.cpu_info);
                continue;
            }
            ST::LINUX_PROC_STATUS => {
                text(&mut linux.proc_status);
                continue;
            }
            ST::LINUX_LSB_RELEASE => {
                text(&mut linux.lsb_release);
                continue;
            }
            ST::LINUX_CMD_LINE => {
                text(&mut linux.cmd_line);
                continue;
            }
            ST::LINUX_ENVIRON => {
                text(&mut linux.environ);
                continue;
            }
            ST::LINUX_AUXV => {
                text(&mut linux.auxv);
                continue;
            }
            ST::LINUX_MAPS => {
                text(&mut linux.maps);
                continue;
            }
            _ => {}
        }
        model.other_streams.push(RawStream {
            stream_type: ty,
            data: stream.data.to_vec(),
        });
    }
    Ok(model)
}
