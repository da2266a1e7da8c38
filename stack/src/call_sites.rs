//! The DWARF call-site records of one compilation unit (`DW_TAG_call_site`,
//! and GCC's DWARF 4 `DW_TAG_GNU_call_site`): what each call instruction
//! calls, and which calls are tail calls (a jump that reuses the caller's
//! frame, so the caller leaves no frame on the stack). `tailcall.rs` rebuilds
//! the missing frames from them, as gdb does.
//!
//! What is read, and why (gdb 13's reading, which the tests compare with):
//! - A call site's address is its return address (`DW_AT_call_return_pc`,
//!   `DW_AT_low_pc` in the GNU form); a second record at the same address is
//!   ignored.
//! - What it calls: an expression (`DW_AT_call_target`, an indirect call)
//!   needs the caller's registers and is not followed; otherwise the DIE
//!   `DW_AT_call_origin` (`DW_AT_abstract_origin`) names: a declaration by
//!   its linkage name (the definition is elsewhere, found by symbol), a
//!   definition by its lowest address; anything else is unknown.
//! - A function's list of tail calls counts only when the compiler says it
//!   recorded every call of that function (`DW_AT_call_all_calls`,
//!   `DW_AT_call_all_tail_calls` or their GNU forms): a path of tail calls
//!   through a function with an incomplete list could miss the real one. A
//!   call site inside an inlined function belongs to the function it was
//!   inlined into.

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use gimli::{constants, AttributeValue, DebuggingInformationEntry, Reader, UnitOffset, UnitRef};

/// At most this many ranges are kept per function (real ones have a few).
const MAX_RANGES: usize = 64;

/// What a call site calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Callee {
    /// A function of this module, at this address (the module's own
    /// address space).
    Address(u64),
    /// A function declared here and defined elsewhere (another unit or
    /// module), by its linkage name.
    Name(String),
    /// Not known from the debug info alone (an indirect call), or not
    /// recorded.
    Unknown,
}

/// One call instruction: the address right after it and what it calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallSite {
    pub(crate) return_pc: u64,
    pub(crate) callee: Callee,
}

/// A function with code in the unit.
#[derive(Debug, Clone)]
pub(crate) struct Function {
    /// Its entry point: `DW_AT_low_pc`, or the first of its ranges as
    /// listed (a function split into hot and cold parts starts in the first).
    pub(crate) entry: u64,
    ranges: Vec<Range<u64>>,
    /// Its tail calls, the last recorded first (the order gdb tries them);
    /// empty unless the compiler recorded every call of the function.
    pub(crate) tail_calls: Rc<Vec<CallSite>>,
}

/// The call sites and functions of one compilation unit.
#[derive(Debug, Default)]
pub(crate) struct UnitCallSites {
    by_return_pc: HashMap<u64, Callee>,
    /// In the order of the unit: a nested function after its parent.
    functions: Vec<Function>,
}

impl UnitCallSites {
    /// Read every call site and function of `unit`. Malformed entries are
    /// skipped; reading stops at the first undecodable one.
    pub(crate) fn read<R: Reader>(unit: UnitRef<'_, R>) -> UnitCallSites {
        let mut out = UnitCallSites::default();
        // Tail calls per function, before they are frozen into `Rc`s.
        let mut tail_calls: Vec<Option<Vec<CallSite>>> = Vec::new();
        let mut callee_of_die = CalleeCache::default();
        // The subprograms enclosing the current entry: (depth, index of
        // the function when it has code).
        let mut enclosing: Vec<(isize, Option<usize>)> = Vec::new();
        let mut depth: isize = 0;
        let mut entries = unit.entries();
        while let Ok(Some((delta, entry))) = entries.next_dfs() {
            depth = depth.saturating_add(delta);
            while enclosing.last().is_some_and(|(d, _)| *d >= depth) {
                enclosing.pop();
            }
            match entry.tag() {
                constants::DW_TAG_subprogram => {
                    let ranges = die_ranges(unit, entry);
                    let index = ranges.first().map(|first| {
                        let complete = [
                            constants::DW_AT_call_all_calls,
                            constants::DW_AT_call_all_tail_calls,
                            constants::DW_AT_GNU_all_call_sites,
                            constants::DW_AT_GNU_all_tail_call_sites,
                        ]
                        .into_iter()
                        .any(|at| flag(entry, at));
                        out.functions.push(Function {
                            entry: first.start,
                            ranges: ranges.clone(),
                            tail_calls: Rc::default(),
                        });
                        tail_calls.push(complete.then(Vec::new));
                        out.functions.len().saturating_sub(1)
                    });
                    enclosing.push((depth, index));
                }
                constants::DW_TAG_call_site | constants::DW_TAG_GNU_call_site => {
                    let Some(return_pc) = address(unit, entry, constants::DW_AT_call_return_pc)
                        .or_else(|| address(unit, entry, constants::DW_AT_low_pc))
                    else {
                        continue;
                    };
                    if out.by_return_pc.contains_key(&return_pc) {
                        continue;
                    }
                    let callee = callee(unit, entry, &mut callee_of_die);
                    out.by_return_pc.insert(return_pc, callee.clone());
                    let tail = flag(entry, constants::DW_AT_call_tail_call)
                        || flag(entry, constants::DW_AT_GNU_tail_call);
                    let function = enclosing.last().and_then(|(_, index)| *index);
                    if let Some(list) = function
                        .and_then(|i| tail_calls.get_mut(i))
                        .and_then(Option::as_mut)
                    {
                        if tail {
                            list.push(CallSite { return_pc, callee });
                        }
                    }
                }
                _ => {}
            }
        }
        for (function, list) in out.functions.iter_mut().zip(tail_calls) {
            if let Some(mut list) = list {
                list.reverse();
                function.tail_calls = Rc::new(list);
            }
        }
        out
    }

    /// What the call returning to `return_pc` calls, if the unit records it.
    pub(crate) fn callee_returning_to(&self, return_pc: u64) -> Option<&Callee> {
        self.by_return_pc.get(&return_pc)
    }

    /// The innermost function (not an inlined one) whose code holds `pc`.
    pub(crate) fn function_containing(&self, pc: u64) -> Option<&Function> {
        self.functions
            .iter()
            .rev()
            .find(|f| f.ranges.iter().any(|r| r.contains(&pc)))
    }
}

/// Whether the flag attribute `at` is set.
fn flag<R: Reader>(entry: &DebuggingInformationEntry<'_, '_, R>, at: constants::DwAt) -> bool {
    matches!(entry.attr_value(at), Ok(Some(AttributeValue::Flag(true))))
}

/// The address attribute `at`.
fn address<R: Reader>(
    unit: UnitRef<'_, R>,
    entry: &DebuggingInformationEntry<'_, '_, R>,
    at: constants::DwAt,
) -> Option<u64> {
    let value = entry.attr_value(at).ok()??;
    unit.attr_address(value).ok()?
}

/// The non-empty address ranges of a DIE, in the order listed.
fn die_ranges<R: Reader>(
    unit: UnitRef<'_, R>,
    entry: &DebuggingInformationEntry<'_, '_, R>,
) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    if let Ok(mut ranges) = unit.die_ranges(entry) {
        while let Ok(Some(range)) = ranges.next() {
            if range.begin < range.end && out.len() < MAX_RANGES {
                out.push(range.begin..range.end);
            }
        }
    }
    out
}

/// The callees already worked out while reading a unit, by the DIE the
/// call sites name (many calls name the same function).
struct CalleeCache<R: Reader> {
    in_unit: HashMap<UnitOffset<R::Offset>, Callee>,
    /// Link-time optimised code names DIEs of other units, whose headers
    /// would otherwise be searched again for each call.
    elsewhere: HashMap<gimli::DebugInfoOffset<R::Offset>, Callee>,
}

impl<R: Reader> Default for CalleeCache<R> {
    fn default() -> Self {
        CalleeCache {
            in_unit: HashMap::new(),
            elsewhere: HashMap::new(),
        }
    }
}

/// What the call site `entry` calls.
fn callee<R: Reader>(
    unit: UnitRef<'_, R>,
    entry: &DebuggingInformationEntry<'_, '_, R>,
    cache: &mut CalleeCache<R>,
) -> Callee {
    // An expression: evaluating it needs the caller's registers, which a
    // chain of tail calls does not have.
    let has = |at| matches!(entry.attr_value(at), Ok(Some(_)));
    if has(constants::DW_AT_call_target) || has(constants::DW_AT_GNU_call_site_target) {
        return Callee::Unknown;
    }
    let origin = [
        constants::DW_AT_call_origin,
        constants::DW_AT_abstract_origin,
    ]
    .into_iter()
    .find_map(|at| entry.attr_value(at).ok().flatten());
    match origin {
        Some(AttributeValue::UnitRef(offset)) => cache
            .in_unit
            .entry(offset)
            .or_insert_with(|| {
                unit.entry(offset)
                    .map_or(Callee::Unknown, |die| callee_named_by(unit, &die))
            })
            .clone(),
        Some(AttributeValue::DebugInfoRef(offset)) => {
            if let Some(local) = offset.to_unit_offset(&unit.header) {
                return unit
                    .entry(local)
                    .map_or(Callee::Unknown, |die| callee_named_by(unit, &die));
            }
            cache
                .elsewhere
                .entry(offset)
                .or_insert_with(|| callee_in_other_unit(unit, offset).unwrap_or(Callee::Unknown))
                .clone()
        }
        _ => Callee::Unknown,
    }
}

/// A call origin in another unit of the same file (link-time optimised
/// code refers across units).
fn callee_in_other_unit<R: Reader>(
    unit: UnitRef<'_, R>,
    offset: gimli::DebugInfoOffset<R::Offset>,
) -> Option<Callee> {
    let mut headers = unit.dwarf.units();
    while let Ok(Some(header)) = headers.next() {
        let Some(local) = offset.to_unit_offset(&header) else {
            continue;
        };
        let other = unit.dwarf.unit(header).ok()?;
        let other = UnitRef::new(unit.dwarf, &other);
        let die = other.entry(local).ok()?;
        return Some(callee_named_by(other, &die));
    }
    None
}

/// The callee a call origin DIE names: a declaration by its linkage name,
/// a definition by its lowest address.
fn callee_named_by<R: Reader>(
    unit: UnitRef<'_, R>,
    die: &DebuggingInformationEntry<'_, '_, R>,
) -> Callee {
    let declaration = flag(die, constants::DW_AT_declaration)
        && !matches!(die.attr_value(constants::DW_AT_specification), Ok(Some(_)));
    if declaration {
        let name = [
            constants::DW_AT_linkage_name,
            constants::DW_AT_MIPS_linkage_name,
            constants::DW_AT_name,
        ]
        .into_iter()
        .find_map(|at| die.attr_value(at).ok().flatten())
        .and_then(|value| unit.attr_string(value).ok())
        .and_then(|name| name.to_string_lossy().ok().map(|n| n.into_owned()));
        return name.map_or(Callee::Unknown, Callee::Name);
    }
    die_ranges(unit, die)
        .iter()
        .map(|r| r.start)
        .min()
        .map_or(Callee::Unknown, Callee::Address)
}
