//! Demangling of Rust and C++ symbol names.

/// `name` demangled when it is a mangled Rust (legacy or v0) or C++
/// (Itanium ABI) name, without Rust's hash suffix; otherwise unchanged.
///
/// ```
/// use coroner_stack::demangle;
/// assert_eq!(demangle("_ZN3std6thread4park17h0123456789abcdefE"), "std::thread::park");
/// assert_eq!(demangle("_ZN3foo3barEv"), "foo::bar()");
/// assert_eq!(demangle("main"), "main");
/// ```
pub fn demangle(name: &str) -> String {
    if let Ok(rust) = rustc_demangle::try_demangle(name) {
        // `{:#}` leaves out the hash, as debuggers show Rust functions.
        return format!("{rust:#}");
    }
    if name.starts_with("_Z") {
        if let Ok(symbol) = cpp_demangle::Symbol::new(name) {
            if let Ok(text) = symbol.demangle(&cpp_demangle::DemangleOptions::default()) {
                return text;
            }
        }
    }
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_v0_names_are_demangled() {
        assert_eq!(demangle("_RNvCs1234_7mycrate3foo"), "mycrate::foo");
    }

    #[test]
    fn garbage_that_looks_mangled_is_kept() {
        assert_eq!(demangle("_Zzzz"), "_Zzzz");
    }
}
