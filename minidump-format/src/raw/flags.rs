//! Named flag types for the raw structures' flag fields.
//!
//! The on-disk structures keep their fields as plain integers, as the
//! specification declares them (so any value, known or not, round-trips);
//! a flag type names the bits, combines them (`|`, `&`), tests them
//! (`contains`) and prints them by name. Hand-written rather than the
//! `bitflags` crate: the format crates depend on scroll and thiserror only.

/// Define a `u32` flag type: its named constants, `bits`,
/// `from_bits_retain`, `contains`, `|`, `&` and a `Debug` that names the
/// set flags (`PAGE_READONLY | PAGE_GUARD`, unknown bits in hex).
macro_rules! flag_type {
    (
        $(#[$doc:meta])*
        pub struct $name:ident {
            $( $(#[$flag_doc:meta])* const $flag:ident = $value:expr; )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            $( $(#[$flag_doc])* pub const $flag: $name = $name($value); )*

            /// Every named flag, for `Debug`.
            const NAMED: &'static [(&'static str, $name)] = &[$((stringify!($flag), $name::$flag)),*];

            /// The flags of a raw field's value, unknown bits kept.
            pub const fn from_bits_retain(bits: u32) -> $name {
                $name(bits)
            }

            /// The raw field's value.
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// Whether every bit of `other` is set.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }
        }

        impl ::core::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }
        }

        impl ::core::ops::BitAnd for $name {
            type Output = $name;
            fn bitand(self, other: $name) -> $name {
                $name(self.0 & other.0)
            }
        }

        impl From<$name> for u32 {
            fn from(flags: $name) -> u32 {
                flags.0
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut rest = self.0;
                let mut first = true;
                for (name, flag) in $name::NAMED {
                    if flag.0 != 0 && self.contains(*flag) && rest & flag.0 != 0 {
                        if !first {
                            f.write_str(" | ")?;
                        }
                        f.write_str(name)?;
                        rest &= !flag.0;
                        first = false;
                    }
                }
                if rest != 0 || first {
                    if !first {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{rest:#x}")?;
                }
                Ok(())
            }
        }
    };
}
