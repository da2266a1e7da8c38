//! siginfo_t decoder: only whole siginfos are accepted, and a fault
//! address is reported only for the signals that carry one.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::siginfo::{carries_fault_address, parse_siginfo, SIGINFO_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_siginfo(data) {
        Ok(si) => {
            assert_eq!(data.len(), SIGINFO_SIZE);
            if si.fault_address.is_some() {
                assert!(carries_fault_address(si.signo) && si.code > 0);
            }
        }
        Err(_) => assert_ne!(data.len(), SIGINFO_SIZE),
    }
});
