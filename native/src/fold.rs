//! Python's `str.lower()`, for equals-ignore-case and prefix/suffix with equals-ignore-case.
//!
//! CPython lower-cases each code point by its own Unicode tables (full mappings: U+0130 becomes
//! two code points), except capital sigma, which becomes final sigma after a cased letter that
//! no cased letter follows, case-ignorable code points skipped on both sides
//! (`handle_capital_sigma` in unicodeobject.c). Rust's own `to_lowercase` follows whatever
//! Unicode version Rust ships, which need not be Python's, so none of this is Rust's: Python
//! hands over its mapping and, for sigma, which code points are case-ignorable and which others
//! are cased (`streams/router/native.py` `python_case`, derived from `str.lower()` itself).
//! Without those, non-ASCII text is Undecided, and the rules testing it are left to Python.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use crate::pred::Undecided;

const CAPITAL_SIGMA: char = '\u{3a3}';
const SMALL_SIGMA: char = '\u{3c3}';
const FINAL_SIGMA: char = '\u{3c2}';

/// Inclusive code point ranges, sorted.
pub type Ranges = Vec<(u32, u32)>;

#[derive(Default)]
pub struct Fold {
    table: FxHashMap<char, Box<str>>,
    /// (case-ignorable, cased and not case-ignorable), for capital sigma; None: not known.
    sigma: Option<(Ranges, Ranges)>,
}

fn contains(ranges: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    ranges.binary_search_by(|&(low, high)| {
        if high < c {
            std::cmp::Ordering::Less
        } else if low > c {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    })
    .is_ok()
}

impl Fold {
    pub fn new(table: Option<Vec<(char, String)>>, sigma: Option<(Ranges, Ranges)>) -> Self {
        let table = table.unwrap_or_default().into_iter().map(|(c, lower)| (c, lower.into_boxed_str())).collect();
        Fold { table, sigma }
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
        for (at, c) in value.char_indices() {
            if c == CAPITAL_SIGMA {
                out.push(self.sigma(&value[..at], &value[at + c.len_utf8()..])?);
                continue;
            }
            match self.table.get(&c) {
                Some(lower) => out.push_str(lower),
                None => out.push(c),
            }
        }
        Ok(Cow::Owned(out))
    }

    /// Capital sigma's lower case between `before` and `after`.
    fn sigma(&self, before: &str, after: &str) -> Result<char, Undecided> {
        let (ignorable, cased) = self.sigma.as_ref().ok_or(Undecided)?;
        let not_ignorable = |c: &char| !contains(ignorable, *c);
        let after_cased = before.chars().rev().find(not_ignorable).is_some_and(|c| contains(cased, c));
        let cased_follows = after.chars().find(not_ignorable).is_some_and(|c| contains(cased, c));
        Ok(if after_cased && !cased_follows { FINAL_SIGMA } else { SMALL_SIGMA })
    }
}
