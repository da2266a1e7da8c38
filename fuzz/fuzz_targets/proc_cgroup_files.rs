//! The cgroup memory files' parsers (`memory.current`/`max`, `memory.events`,
//! `memory.pressure`, `cgroup.procs`): never panic, whatever the bytes; a
//! parsed PSI average is at most what two decimals of a u32 can hold.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::cgroup_files::{
    parse_cgroup_value, parse_memory_events, parse_pid_list, parse_pressure,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(v)) = parse_cgroup_value(data) {
        assert!(v < 1 << 62);
    }
    let _ = parse_memory_events(data);
    if let Ok(p) = parse_pressure(data) {
        let _ = (p.some.avg10, p.full.map(|f| f.total_us));
    }
    if let Ok(pids) = parse_pid_list(data) {
        assert!(pids.len() <= data.len());
    }
});
