//! A dump written to memory while the target is frozen, to reach its real
//! sink after the thaw exactly as if written there directly: the same
//! bytes, and the same holes the writer decided.

use std::io;

use coroner_minidump_format::write::Sink;

/// One call the writer made.
#[derive(Debug, Clone, Copy)]
enum Piece {
    /// So many bytes of [`Recorded::data`], in order.
    Data(usize),
    /// A hole of so many bytes.
    Hole(u64),
}

/// A [`Sink`] that keeps the data and where the holes were; see the
/// module docs. Holes cost no memory.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    data: Vec<u8>,
    pieces: Vec<Piece>,
}

impl Recorded {
    /// Room for `bytes` of data, allocated now.
    pub(crate) fn with_capacity(bytes: usize) -> Recorded {
        Recorded {
            data: Vec::with_capacity(bytes),
            pieces: Vec::new(),
        }
    }

    /// Push everything recorded to `sink`, then finish it.
    pub(crate) fn replay<S: Sink + ?Sized>(&self, sink: &mut S) -> io::Result<()> {
        let mut at = 0;
        for piece in &self.pieces {
            match *piece {
                Piece::Data(n) => {
                    sink.write_all(&self.data[at..at + n])?;
                    at += n;
                }
                Piece::Hole(n) => sink.write_hole(n)?,
            }
        }
        sink.finish()
    }

    /// Bytes recorded, holes included.
    pub(crate) fn len(&self) -> u64 {
        self.pieces
            .iter()
            .map(|p| match *p {
                Piece::Data(n) => n as u64,
                Piece::Hole(n) => n,
            })
            .sum()
    }
}

impl Sink for Recorded {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        match self.pieces.last_mut() {
            Some(Piece::Data(n)) => *n += buf.len(),
            _ => self.pieces.push(Piece::Data(buf.len())),
        }
        Ok(())
    }

    fn write_hole(&mut self, len: u64) -> io::Result<()> {
        match self.pieces.last_mut() {
            Some(Piece::Hole(n)) => *n += len,
            _ => self.pieces.push(Piece::Hole(len)),
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the calls it gets.
    #[derive(Default)]
    struct Calls(Vec<(bool, Vec<u8>, u64)>, bool);

    impl Sink for Calls {
        fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            self.0.push((false, buf.to_vec(), 0));
            Ok(())
        }
        fn write_hole(&mut self, len: u64) -> io::Result<()> {
            self.0.push((true, Vec::new(), len));
            Ok(())
        }
        fn finish(&mut self) -> io::Result<()> {
            self.1 = true;
            Ok(())
        }
    }

    #[test]
    fn replays_the_same_bytes_and_holes() {
        let mut r = Recorded::with_capacity(16);
        r.write_all(b"ab").unwrap();
        r.write_all(b"c").unwrap();
        r.write_hole(4096).unwrap();
        r.write_hole(4).unwrap();
        r.write_all(b"d").unwrap();
        assert_eq!(r.len(), 3 + 4100 + 1);
        let mut calls = Calls::default();
        r.replay(&mut calls).unwrap();
        assert_eq!(
            calls.0,
            [
                (false, b"abc".to_vec(), 0),
                (true, vec![], 4100),
                (false, b"d".to_vec(), 0)
            ]
        );
        assert!(calls.1, "finished");
    }
}
