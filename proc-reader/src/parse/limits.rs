//! `/proc/<pid>/limits`: the resource limits table.

use super::{lines, parse_u64, tokens, ParseError};

/// One row of the limits table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The limit's name as the kernel prints it ("Max open files" …).
    pub name: String,
    /// Soft limit; `None` means unlimited.
    pub soft: Option<u64>,
    /// Hard limit; `None` means unlimited.
    pub hard: Option<u64>,
    /// Units ("seconds", "bytes", "files" …), empty when none.
    pub units: String,
}

fn value(t: &[u8]) -> Option<Option<u64>> {
    if t == b"unlimited" {
        Some(None)
    } else {
        parse_u64(t, 10).map(Some)
    }
}

/// Parse a `limits` file. The header line is skipped; a row's name is every
/// word before the first number or `unlimited`.
///
/// ```
/// use coroner_proc_reader::parse::limits::parse_limits;
/// let v = parse_limits(b"Limit                     Soft Limit           Hard Limit           Units     \n\
/// Max open files            1024                 524288               files     \n\
/// Max cpu time              unlimited            unlimited            seconds   \n").unwrap();
/// assert_eq!((v[0].name.as_str(), v[0].soft, v[0].hard), ("Max open files", Some(1024), Some(524288)));
/// assert_eq!((v[1].soft, v[1].units.as_str()), (None, "seconds"));
/// ```
pub fn parse_limits(data: &[u8]) -> Result<Vec<Limit>, ParseError> {
    let mut out = Vec::new();
    for (line, text) in lines(data) {
        if text.starts_with(b"Limit ") || text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let words: Vec<&[u8]> = tokens(text).collect();
        let Some(at) = words.iter().position(|w| value(w).is_some()) else {
            return Err(ParseError::Malformed {
                line,
                what: "no soft limit value",
            });
        };
        let soft = words.get(at).and_then(|w| value(w)).flatten();
        let hard_text = words
            .get(at.saturating_add(1))
            .ok_or(ParseError::MissingField {
                line,
                field: "hard limit",
            })?;
        let hard = value(hard_text)
            .ok_or_else(|| ParseError::bad_number(line, "hard limit", hard_text))?;
        let join = |ws: &[&[u8]]| {
            ws.iter()
                .map(|w| String::from_utf8_lossy(w))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let name = join(words.get(..at).unwrap_or(&[]));
        if name.is_empty() {
            return Err(ParseError::MissingField {
                line,
                field: "name",
            });
        }
        let units = join(words.get(at.saturating_add(2)..).unwrap_or(&[]));
        out.push(Limit {
            name,
            soft,
            hard,
            units,
        });
    }
    Ok(out)
}
