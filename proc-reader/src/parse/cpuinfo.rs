//! `/proc/cpuinfo`: `key : value` lines, one block per logical CPU.

use super::{lines, parse_u64, trim};

/// What a dump records about the host's CPUs. The per-CPU fields are those
/// of the first CPU (the same on every CPU of an x86 machine); they are
/// `None` on architectures that do not print them (aarch64 has no
/// `vendor_id` or `cpu family`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CpuInfo {
    /// Number of `processor` blocks (logical CPUs online).
    pub processors: usize,
    /// `vendor_id` (x86: `GenuineIntel`, `AuthenticAMD` …).
    pub vendor_id: Option<Vec<u8>>,
    /// `cpu family` (x86 display family).
    pub family: Option<u32>,
    /// `model` (x86 display model).
    pub model: Option<u32>,
    /// `stepping`.
    pub stepping: Option<u32>,
}

/// The first value of `key` in `data`.
fn first<'a>(data: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    lines(data).find_map(|(_, line)| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (k, v) = (line.get(..colon)?, line.get(colon.checked_add(1)?..)?);
        (trim(k) == key).then(|| trim(v))
    })
}

fn number(data: &[u8], key: &[u8]) -> Option<u32> {
    u32::try_from(parse_u64(first(data, key)?, 10)?).ok()
}

/// Parse `/proc/cpuinfo`. Never fails: absent or malformed fields are
/// `None`, and text that is not cpuinfo at all gives 0 processors.
///
/// ```
/// use coroner_proc_reader::parse::cpuinfo::parse_cpuinfo;
/// let text = b"processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n\
///              model\t\t: 85\nstepping\t: 7\n\nprocessor\t: 1\n";
/// let c = parse_cpuinfo(text);
/// assert_eq!(c.processors, 2);
/// assert_eq!(c.vendor_id.as_deref(), Some(&b"GenuineIntel"[..]));
/// assert_eq!((c.family, c.model, c.stepping), (Some(6), Some(85), Some(7)));
/// ```
pub fn parse_cpuinfo(data: &[u8]) -> CpuInfo {
    let processors = lines(data)
        .filter(|(_, line)| {
            line.strip_prefix(b"processor")
                .is_some_and(|rest| trim(rest).starts_with(b":"))
        })
        .count();
    CpuInfo {
        processors,
        vendor_id: first(data, b"vendor_id").map(<[u8]>::to_vec),
        family: number(data, b"cpu family"),
        model: number(data, b"model"),
        stepping: number(data, b"stepping"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aarch64_cpuinfo_has_processors_but_no_x86_fields() {
        let text = b"processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n\n\
                     processor\t: 1\nBogoMIPS\t: 50.00\n";
        let c = parse_cpuinfo(text);
        assert_eq!(c.processors, 2);
        assert_eq!((c.vendor_id, c.family, c.model), (None, None, None));
    }

    #[test]
    fn model_name_is_not_model() {
        let c = parse_cpuinfo(b"model name\t: Some CPU\nmodel\t\t: 143\n");
        assert_eq!(c.model, Some(143));
        assert_eq!(parse_cpuinfo(b"model\t: x\n").model, None);
        assert_eq!(parse_cpuinfo(b"").processors, 0);
    }

    #[test]
    fn this_machines_cpuinfo_parses() {
        let Ok(text) = std::fs::read("/proc/cpuinfo") else {
            return;
        };
        assert!(parse_cpuinfo(&text).processors >= 1);
    }
}
