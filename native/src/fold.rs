//! Python's `str.lower()`, for equals-ignore-case and prefix/suffix with equals-ignore-case.
//!
//! CPython lower-cases each code point by its own Unicode tables (full mappings: U+0130 becomes
//! two code points), except capital sigma, whose lower case depends on the letters around it
//! (final sigma). Rust's own `to_lowercase` follows whatever Unicode version Rust ships, which
//! need not be Python's, so the mapping is not Rust's: Python hands over its own, as every code
//! point whose `lower()` differs from itself (`streams/router/native.py` `lowercase_table`).
//! Text holding a capital sigma is left to Python (Undecided) rather than reproduce its
//! context rule with Python's notion of cased letters.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use crate::pred::Undecided;

const CAPITAL_SIGMA: char = '\u{3a3}';

#[derive(Default)]
pub struct Fold {
    table: FxHashMap<char, Box<str>>,
}

impl Fold {
    pub fn new(table: Vec<(char, String)>) -> Self {
        Fold { table: table.into_iter().map(|(c, lower)| (c, lower.into_boxed_str())).collect() }
    }

    /// `value.lower()`, or Undecided for text whose lower case this side does not know.
    pub fn lower<'v>(&self, value: &'v str) -> Result<Cow<'v, str>, Undecided> {
        if value.is_ascii() {
            return Ok(if value.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(value.to_ascii_lowercase())
            } else {
                Cow::Borrowed(value)
            });
        }
        if self.table.is_empty() {
            return Err(Undecided);
        }
        let mut out = String::with_capacity(value.len());
        for c in value.chars() {
            if c == CAPITAL_SIGMA {
                return Err(Undecided);
            }
            match self.table.get(&c) {
                Some(lower) => out.push_str(lower),
                None => out.push(c),
            }
        }
        Ok(Cow::Owned(out))
    }
}
