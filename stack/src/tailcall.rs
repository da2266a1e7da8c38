//! Tail-call frames: functions that ended by jumping to another (a tail
//! call) left no frame on the stack, so an unwinder sees their caller as
//! the caller of the function they jumped to. The DWARF call-site records
//! (`call_sites.rs`) say what each call instruction calls; when the call
//! at a caller's return address names another function than the one its
//! callee frame is in, and exactly one chain of recorded tail calls leads
//! from the first to the second, the functions of that chain are put back
//! as frames (`FrameSource::TailCall`).
//!
//! This is gdb's documented behaviour ("Tail Call Frames" in its manual),
//! rebuilt from the facts of its search: a depth-first walk over every path
//! of tail calls from the called function to the callee's function, a call
//! site used at most once per path; when several paths exist only the
//! frames they all agree on next to the caller and next to the callee are
//! kept, and none when they agree on neither; any step that cannot be
//! followed (an indirect call, a target with no function in the debug info)
//! gives no frames at all rather than a guess.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::call_sites::{CallSite, Callee};
use crate::modules::Modules;
use crate::report::FrameSource;
use crate::unwind::RawFrame;

/// Steps of the search after which it gives up (no frames): real tail-call
/// graphs are small, a crafted one must not keep us here.
const MAX_STEPS: usize = 10_000;

/// A call site and the module whose debug info records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    /// The return address (right after the call or jump), absolute.
    pub(crate) pc: u64,
    pub(crate) callee: Callee,
    pub(crate) module: usize,
}

/// What the search needs to know of the process's functions.
pub(crate) trait CallGraph {
    /// The absolute entry address of the function `site` calls; `None`
    /// when it cannot be known.
    fn target(&mut self, site: &Site) -> Option<u64>;
    /// The tail calls of the function whose entry is `entry`; `None` when
    /// no function of the debug info starts there.
    fn tail_calls(&mut self, entry: u64) -> Option<Rc<Vec<Site>>>;
}

/// The tail calls common to every path found so far: the whole first path,
/// of which `callers` sites next to the caller and `callees` next to the
/// callee are shared by all later ones.
#[derive(Debug)]
struct Agreed {
    sites: Vec<u64>,
    callers: usize,
    callees: usize,
}

impl Agreed {
    /// Keep only what `path` agrees with; `false` when nothing is left.
    ///
    /// As gdb does, a count shrinks only where the sites differ: a shorter
    /// path that agrees all along leaves it as it was.
    fn intersect(&mut self, path: &[u64]) -> bool {
        let callers = self.callers.min(path.len());
        if let Some(i) = self
            .sites
            .iter()
            .zip(path)
            .take(callers)
            .position(|(a, b)| a != b)
        {
            self.callers = i;
        }
        let callees = self.callees.min(path.len());
        if let Some(i) = self
            .sites
            .iter()
            .rev()
            .zip(path.iter().rev())
            .take(callees)
            .position(|(a, b)| a != b)
        {
            self.callees = i;
        }
        self.callers != 0 || self.callees != 0
    }

    /// The frames, innermost (next to the callee) first.
    fn frames(&self) -> Vec<u64> {
        let len = self.sites.len();
        let mut out: Vec<u64> = self
            .sites
            .iter()
            .rev()
            .take(self.callees)
            .copied()
            .collect();
        // When every site is agreed on from both ends, the two ends are the
        // same frames.
        if self.callees != len {
            out.extend(self.sites.iter().take(self.callers).rev().copied());
        }
        out
    }
}

/// The return addresses of the tail-call frames between a callee frame
/// whose function starts at `callee_entry` and its caller, whose call
/// instruction is `caller_site`: innermost first, empty when there are none
/// or they cannot be told.
pub(crate) fn chain<G: CallGraph>(
    graph: &mut G,
    caller_site: &Site,
    callee_entry: u64,
) -> Vec<u64> {
    search(graph, caller_site, callee_entry)
        .map(|agreed| agreed.frames())
        .unwrap_or_default()
}

fn search<G: CallGraph>(graph: &mut G, caller_site: &Site, callee_entry: u64) -> Option<Agreed> {
    let mut agreed: Option<Agreed> = None;
    // The tail calls of the current path: each a list and the index of the
    // site taken in it (the lists are the siblings to try on the way back).
    let mut path: Vec<(Rc<Vec<Site>>, usize)> = Vec::new();
    let mut on_path: HashSet<u64> = HashSet::new();
    let mut current = caller_site.clone();
    for _ in 0..MAX_STEPS {
        let target = graph.target(&current)?;
        let mut attempt = None;
        if target == callee_entry {
            let sites: Vec<u64> = path
                .iter()
                .filter_map(|(list, i)| list.get(*i).map(|s| s.pc))
                .collect();
            match &mut agreed {
                None => {
                    agreed = Some(Agreed {
                        callers: sites.len(),
                        callees: sites.len(),
                        sites,
                    })
                }
                Some(agreed) => {
                    if !agreed.intersect(&sites) {
                        return None;
                    }
                }
            }
        } else {
            attempt = Some((graph.tail_calls(target)?, 0));
        }
        // Enter the first tail call of the target, unless it is on the
        // path already; else go back to the nearest untried sibling.
        loop {
            if let Some((list, i)) = attempt.take() {
                if let Some(site) = list.get(i) {
                    if on_path.insert(site.pc) {
                        path.push((list, i));
                        break;
                    }
                }
            }
            let mut sibling = None;
            while let Some((list, i)) = path.pop() {
                if let Some(site) = list.get(i) {
                    on_path.remove(&site.pc);
                }
                let next = i.saturating_add(1);
                if next < list.len() {
                    sibling = Some((list, next));
                    break;
                }
            }
            match sibling {
                Some(s) => attempt = Some(s),
                None => break,
            }
        }
        match path.last().and_then(|(list, i)| list.get(*i)) {
            Some(site) => current = site.clone(),
            None => return agreed,
        }
    }
    None
}

/// The search over a process's modules, with what it read kept for the
/// next frames and threads.
#[derive(Default)]
pub(crate) struct TailCalls {
    names: HashMap<String, Option<u64>>,
    lists: HashMap<u64, Option<Rc<Vec<Site>>>>,
    /// The frames found between a callee pc and a caller pc: the threads
    /// of a process share most of their frames.
    between: HashMap<(u64, u64), Vec<u64>>,
}

impl TailCalls {
    /// The pcs of the tail-call frames between `callee` and its `caller`
    /// (the next frame up), innermost first. Only a caller found by the
    /// callee's CFI and returned to by a call (not interrupted by a signal)
    /// has a call site to start from.
    pub(crate) fn between(
        &mut self,
        callee: &RawFrame,
        caller: &RawFrame,
        modules: &mut Modules,
    ) -> Vec<u64> {
        if caller.source != FrameSource::Cfi || caller.exact {
            return Vec::new();
        }
        let callee_lookup = if callee.exact {
            callee.pc
        } else {
            callee.pc.saturating_sub(1)
        };
        if let Some(found) = self.between.get(&(callee_lookup, caller.pc)) {
            return found.clone();
        }
        let found = self.search(callee_lookup, caller.pc, modules);
        self.between
            .insert((callee_lookup, caller.pc), found.clone());
        found
    }

    fn search(&mut self, callee_lookup: u64, return_pc: u64, modules: &mut Modules) -> Vec<u64> {
        let Some(callee_entry) = function_start(modules, callee_lookup) else {
            return Vec::new();
        };
        let Some(site) = call_site(modules, return_pc) else {
            return Vec::new();
        };
        let prefer = modules.find(callee_lookup);
        let mut graph = ModuleGraph {
            modules,
            cache: self,
            prefer,
        };
        chain(&mut graph, &site, callee_entry)
    }
}

/// The call instruction that returns to `return_pc`, from the debug info of
/// the unit holding the instruction before it.
fn call_site(modules: &mut Modules, return_pc: u64) -> Option<Site> {
    let before = return_pc.checked_sub(1)?;
    let module = modules.find(before)?;
    let (image, bias) = modules.image(module)?;
    let svma = return_pc.wrapping_sub(bias);
    let units = image.call_sites(svma.checked_sub(1)?)?;
    let callee = units.callee_returning_to(svma)?.clone();
    Some(Site {
        pc: return_pc,
        callee,
        module,
    })
}

/// The entry address of the function (not an inlined one) holding `pc`:
/// from the debug info, else from the symbol table.
fn function_start(modules: &mut Modules, pc: u64) -> Option<u64> {
    let module = modules.find(pc)?;
    let (image, bias) = modules.image(module)?;
    let svma = pc.wrapping_sub(bias);
    if let Some(function) = image
        .call_sites(svma)
        .and_then(|units| units.function_containing(svma).map(|f| f.entry))
    {
        return Some(function.wrapping_add(bias));
    }
    image
        .symbol(svma)
        .map(|(symbol, _)| symbol.addr.wrapping_add(bias))
}

/// [`CallGraph`] over the modules' debug info and symbol tables.
struct ModuleGraph<'a> {
    modules: &'a mut Modules,
    cache: &'a mut TailCalls,
    /// Where to look first for a function by name: the callee's module.
    prefer: Option<usize>,
}

impl ModuleGraph<'_> {
    /// The function named `name`: the first module defining it as a global
    /// symbol, looking at the callee's module first, then the modules
    /// already read, then the others; a local symbol only when no module
    /// has a global one.
    fn function_named(&mut self, name: &str) -> Option<u64> {
        if let Some(found) = self.cache.names.get(name) {
            return *found;
        }
        let count = self.modules.len();
        let mut order: Vec<usize> = self.prefer.into_iter().collect();
        order.extend((0..count).filter(|i| Some(*i) != self.prefer && self.modules.is_loaded(*i)));
        order.extend((0..count).filter(|i| Some(*i) != self.prefer && !self.modules.is_loaded(*i)));
        let mut local = None;
        let mut found = None;
        for index in order {
            let Some((image, bias)) = self.modules.image(index) else {
                continue;
            };
            match image.function_named(name) {
                Some((addr, true)) => {
                    found = Some(addr.wrapping_add(bias));
                    break;
                }
                Some((addr, false)) => local = local.or(Some(addr.wrapping_add(bias))),
                None => {}
            }
        }
        let found = found.or(local);
        self.cache.names.insert(name.to_owned(), found);
        found
    }
}

impl CallGraph for ModuleGraph<'_> {
    fn target(&mut self, site: &Site) -> Option<u64> {
        match &site.callee {
            Callee::Address(svma) => {
                let (_, bias) = self.modules.image(site.module)?;
                Some(svma.wrapping_add(bias))
            }
            Callee::Name(name) => self.function_named(name),
            Callee::Unknown => None,
        }
    }

    fn tail_calls(&mut self, entry: u64) -> Option<Rc<Vec<Site>>> {
        if let Some(found) = self.cache.lists.get(&entry) {
            return found.clone();
        }
        let list = (|| {
            let module = self.modules.find(entry)?;
            let (image, bias) = self.modules.image(module)?;
            let svma = entry.wrapping_sub(bias);
            let units = image.call_sites(svma)?;
            let function = units.function_containing(svma)?;
            if function.entry != svma {
                return None;
            }
            Some(Rc::new(
                function
                    .tail_calls
                    .iter()
                    .map(|CallSite { return_pc, callee }| Site {
                        pc: return_pc.wrapping_add(bias),
                        callee: callee.clone(),
                        module,
                    })
                    .collect(),
            ))
        })();
        self.cache.lists.insert(entry, list.clone());
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Functions by entry address, each with its tail calls (return pc,
    /// target entry); a target of 0 is an indirect call.
    struct Graph(HashMap<u64, Vec<(u64, u64)>>);

    impl CallGraph for Graph {
        fn target(&mut self, site: &Site) -> Option<u64> {
            match site.callee {
                Callee::Address(0) | Callee::Unknown | Callee::Name(_) => None,
                Callee::Address(a) => Some(a),
            }
        }
        fn tail_calls(&mut self, entry: u64) -> Option<Rc<Vec<Site>>> {
            let list = self.0.get(&entry)?;
            Some(Rc::new(list.iter().map(|&(pc, to)| site(pc, to)).collect()))
        }
    }

    fn site(pc: u64, to: u64) -> Site {
        Site {
            pc,
            callee: Callee::Address(to),
            module: 0,
        }
    }

    fn graph(functions: &[(u64, &[(u64, u64)])]) -> Graph {
        Graph(functions.iter().map(|(f, l)| (*f, l.to_vec())).collect())
    }

    #[test]
    fn a_direct_call_has_no_tail_call_frames() {
        let mut g = graph(&[(0x100, &[])]);
        assert!(chain(&mut g, &site(0x50, 0x100), 0x100).is_empty());
    }

    #[test]
    fn a_unique_chain_gives_its_frames_innermost_first() {
        // caller calls A; A tail-calls B; B tail-calls C (the callee).
        let mut g = graph(&[
            (0xa00, &[(0xa10, 0xb00)]),
            (0xb00, &[(0xb10, 0xc00)]),
            (0xc00, &[]),
        ]);
        assert_eq!(chain(&mut g, &site(0x50, 0xa00), 0xc00), vec![0xb10, 0xa10]);
    }

    #[test]
    fn two_paths_keep_only_the_frames_both_agree_on() {
        // A tail-calls B1 or B2, each tail-calls C: A's and the last hop's
        // sites differ per path, so only A (next to the caller) is agreed.
        let mut g = graph(&[
            (0xa00, &[(0xa10, 0xb00), (0xa20, 0xd00)]),
            (0xb00, &[(0xb10, 0xc00)]),
            (0xd00, &[(0xd10, 0xc00)]),
            (0xc00, &[]),
        ]);
        assert!(chain(&mut g, &site(0x50, 0xa00), 0xc00).is_empty());
        // A tail-calls B in two places; B tail-calls C: B's site, next to
        // the callee, is agreed.
        let mut g = graph(&[
            (0xa00, &[(0xa10, 0xb00), (0xa20, 0xb00)]),
            (0xb00, &[(0xb10, 0xc00)]),
            (0xc00, &[]),
        ]);
        assert_eq!(chain(&mut g, &site(0x50, 0xa00), 0xc00), vec![0xb10]);
    }

    #[test]
    fn an_unresolvable_step_gives_no_frames_rather_than_a_guess() {
        // A tail-calls C, and also makes an indirect tail call.
        let mut g = graph(&[(0xa00, &[(0xa10, 0xc00), (0xa20, 0)]), (0xc00, &[])]);
        assert!(chain(&mut g, &site(0x50, 0xa00), 0xc00).is_empty());
        // A target with no function in the debug info.
        let mut g = graph(&[(0xa00, &[(0xa10, 0xe00)])]);
        assert!(chain(&mut g, &site(0x50, 0xa00), 0xc00).is_empty());
        // The caller's own call is indirect.
        let mut g = graph(&[(0xc00, &[])]);
        assert!(chain(&mut g, &site(0x50, 0), 0xc00).is_empty());
    }

    #[test]
    fn tail_call_cycles_end() {
        // A and B tail-call each other; B also tail-calls C.
        let mut g = graph(&[
            (0xa00, &[(0xa10, 0xb00)]),
            (0xb00, &[(0xb10, 0xa00), (0xb20, 0xc00)]),
            (0xc00, &[]),
        ]);
        assert_eq!(chain(&mut g, &site(0x50, 0xa00), 0xc00), vec![0xb20, 0xa10]);
    }

    #[test]
    fn agreed_frames_from_both_ends() {
        let mut agreed = Agreed {
            sites: vec![1, 2, 3, 4],
            callers: 4,
            callees: 4,
        };
        assert_eq!(agreed.frames(), vec![4, 3, 2, 1]);
        assert!(agreed.intersect(&[1, 5, 4]));
        assert_eq!((agreed.callers, agreed.callees), (1, 1));
        assert_eq!(agreed.frames(), vec![4, 1]);
        assert!(!agreed.intersect(&[6, 7]));
    }
}
