//! Reading and writing zstd-compressed dumps.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::receive::PAGE;

/// The zstd frame magic (little-endian 0xFD2FB528).
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Whether `head` starts a zstd frame.
pub fn is_zstd(head: &[u8]) -> bool {
    head.starts_with(&ZSTD_MAGIC)
}

/// Decompress the zstd stream `input` into `out` (empty, positioned at 0),
/// leaving all-zero pages as holes so a decompressed core takes no more
/// disk than its data. Returns the decompressed length.
pub fn decompress_sparse(input: impl Read, out: &mut File) -> io::Result<u64> {
    let mut decoder = zstd::stream::read::Decoder::new(input)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match decoder.read(buf.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            break;
        }
        for page in buf.get(..filled).unwrap_or_default().chunks(PAGE) {
            if page.iter().all(|&b| b == 0) {
                out.seek(SeekFrom::Current(
                    i64::try_from(page.len()).unwrap_or(i64::MAX),
                ))?;
            } else {
                out.write_all(page)?;
            }
        }
        total = total.saturating_add(filled as u64);
    }
    out.set_len(total)?;
    Ok(total)
}

/// Compress the file `input` into `out` with zstd at `level` on `workers`
/// threads.
pub fn compress(input: impl Read, out: impl Write, level: i32, workers: u32) -> io::Result<()> {
    let mut encoder = zstd::stream::write::Encoder::new(out, level)?;
    if workers > 0 {
        encoder.multithread(workers)?;
    }
    let mut input = input;
    io::copy(&mut input, &mut encoder)?;
    encoder.finish()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn decompression_is_sparse_and_exact() {
        let mut data = vec![0u8; 64 * PAGE + 10];
        data[3] = 9;
        data[64 * PAGE + 9] = 7;
        let mut z = Vec::new();
        compress(&data[..], &mut z, 3, 0).unwrap();
        assert!(is_zstd(&z));
        let dir = tempfile::tempdir().unwrap();
        let mut out = File::create(dir.path().join("d")).unwrap();
        assert_eq!(
            decompress_sparse(&z[..], &mut out).unwrap(),
            data.len() as u64
        );
        assert_eq!(std::fs::read(dir.path().join("d")).unwrap(), data);
        assert!(out.metadata().unwrap().blocks() * 512 <= 4 * PAGE as u64 * 2);
    }
}
