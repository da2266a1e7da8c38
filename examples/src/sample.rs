//! The sample process `coroner demo` captures: the same binary re-executed
//! with the hidden `sample-process` subcommand. It starts worker threads
//! parked in distinctly named functions, fills a heap buffer with a
//! recognisable pattern, prints `READY pid=<pid> threads=<n> pattern=<addr>`
//! and waits until its stdin closes (so it never outlives the demo).

use std::hint::black_box;
use std::io::{Read, Write};
use std::sync::{Arc, Barrier};

/// The 8-byte word at index `i` of the sample's pattern buffer.
pub fn sample_word(i: u64) -> u64 {
    0x5341_4d50_4c45_0000_u64.wrapping_add(i)
}

#[inline(never)]
fn park_forever(depth: u64) -> u64 {
    loop {
        std::thread::park();
        black_box(depth);
    }
}

#[inline(never)]
fn sample_park_alpha() -> u64 {
    black_box(park_forever(1)) + 1
}

#[inline(never)]
fn sample_park_beta() -> u64 {
    black_box(park_forever(2)) + 2
}

#[inline(never)]
fn sample_park_gamma() -> u64 {
    black_box(park_forever(3)) + 3
}

#[inline(never)]
fn sample_park_delta() -> u64 {
    black_box(park_forever(4)) + 4
}

/// Run the sample process; returns when stdin reaches end of file.
pub fn run(threads: usize, pattern_mib: usize) -> std::io::Result<()> {
    let words = pattern_mib * (1 << 20) / 8;
    let pattern: Vec<u64> = (0..words as u64).map(sample_word).collect();
    let parkers: [fn() -> u64; 4] = [
        sample_park_alpha,
        sample_park_beta,
        sample_park_gamma,
        sample_park_delta,
    ];
    let started = Arc::new(Barrier::new(threads + 1));
    for i in 0..threads {
        let started = Arc::clone(&started);
        let park = parkers[i % parkers.len()];
        std::thread::Builder::new()
            .name(format!("sample-{i}"))
            .spawn(move || {
                started.wait();
                park()
            })?;
    }
    started.wait();
    // Give the workers a moment to reach their parking spot.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "READY pid={} threads={} pattern={:#x} pattern_len={}",
        std::process::id(),
        threads,
        pattern.as_ptr() as usize,
        pattern.len() * 8
    )?;
    out.flush()?;
    drop(out);
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin().lock();
    while stdin.read(&mut sink)? > 0 {}
    black_box(&pattern);
    Ok(())
}
