//! Event leaf values and the pattern engine's value predicates, tested on one leaf.
//!
//! The reference semantics are `streams/patterns/predicates.py`. Where matching the Python
//! exactly would take more than this module knows (Unicode lower-casing, CIDR parsing, exact
//! matching of numbers outside EventBridge's numeric range), a test answers `Undecided` and
//! the Python engine decides that event instead: the fast path may defer, never disagree.

use std::borrow::Cow;

/// The Python engine must decide this event.
#[derive(Debug)]
pub struct Undecided;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lit {
    False,
    True,
    Null,
}

impl Lit {
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A scalar found at a path some rule uses. Numbers are kept as their comparison key.
#[derive(Clone, Debug)]
pub enum Leaf<'a> {
    Str(Cow<'a, str>),
    /// Millionths, as `numeric.numeric_key`; None outside [-5e9, 5e9].
    Num(Option<i64>),
    Lit(Lit),
}

/// numeric.MAX_NUMBER and numeric.SCALE: the Python side hands its own to EnvelopeMatcher::new,
/// which refuses to build if they differ, so a change on one side cannot silently split the two.
pub const MAX_NUMBER: i64 = 5_000_000_000;
pub const SCALE: i64 = 1_000_000;

pub fn key_i64(v: i64) -> Option<i64> {
    (-MAX_NUMBER..=MAX_NUMBER).contains(&v).then(|| v * SCALE)
}

pub fn key_u64(v: u64) -> Option<i64> {
    (v <= MAX_NUMBER as u64).then(|| v as i64 * SCALE)
}

/// Python's `round(value * 1_000_000)`: the same float product, rounded half to even.
pub fn key_f64(v: f64) -> Option<i64> {
    (v >= -(MAX_NUMBER as f64) && v <= MAX_NUMBER as f64).then(|| (v * SCALE as f64).round_ties_even() as i64)
}

#[derive(Clone, Debug)]
pub enum Pred {
    Str(Box<str>),
    Num(i64),
    /// An exact number outside the numeric range: compared by value in Python.
    BigNum,
    Lit(Lit),
    Prefix(Box<str>, bool),
    Suffix(Box<str>, bool),
    /// Stored lower-cased.
    IgnoreCase(Box<str>),
    Wildcard(Vec<Box<str>>),
    Range(i64, i64),
    Cidr,
    Exists,
    Absent,
    AnythingBut(Vec<Pred>),
}

impl Pred {
    pub fn test(&self, leaf: &Leaf) -> Result<bool, Undecided> {
        Ok(match (self, leaf) {
            (Pred::Str(text), Leaf::Str(value)) => **text == **value,
            (Pred::Num(key), Leaf::Num(Some(value))) => key == value,
            (Pred::BigNum, Leaf::Num(None)) => return Err(Undecided),
            (Pred::Lit(lit), Leaf::Lit(value)) => lit == value,
            (Pred::Prefix(text, false), Leaf::Str(value)) => value.starts_with(&**text),
            (Pred::Prefix(text, true), Leaf::Str(value)) => lower(value)?.starts_with(&**text),
            (Pred::Suffix(text, false), Leaf::Str(value)) => value.ends_with(&**text),
            (Pred::Suffix(text, true), Leaf::Str(value)) => lower(value)?.ends_with(&**text),
            (Pred::IgnoreCase(text), Leaf::Str(value)) => *lower(value)? == **text,
            (Pred::Wildcard(segments), Leaf::Str(value)) => wildcard_match(segments, value),
            (Pred::Range(low, high), Leaf::Num(Some(key))) => low <= key && key <= high,
            // parse_ip only tries strings with a '.' or ':'; those are the Python engine's.
            (Pred::Cidr, Leaf::Str(value)) => {
                if value.contains(['.', ':']) {
                    return Err(Undecided);
                }
                false
            }
            (Pred::Exists, _) => true,
            (Pred::AnythingBut(excluded), _) => {
                for p in excluded {
                    if p.test(leaf)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        })
    }
}

/// `str.lower()` for ASCII text; other text is lower-cased by Python's Unicode rules.
fn lower(value: &str) -> Result<Cow<'_, str>, Undecided> {
    if !value.is_ascii() {
        return Err(Undecided);
    }
    Ok(if value.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(value.to_ascii_lowercase())
    } else {
        Cow::Borrowed(value)
    })
}

/// `wildcard.wildcard_match` on UTF-8 bytes, which is the same as on code points: literal
/// segments start and end on character boundaries.
pub fn wildcard_match(segments: &[Box<str>], value: &str) -> bool {
    let value = value.as_bytes();
    let first = segments[0].as_bytes();
    if segments.len() == 1 {
        return value == first;
    }
    let last = segments[segments.len() - 1].as_bytes();
    if value.len() < first.len() + last.len() || !value.starts_with(first) || !value.ends_with(last) {
        return false;
    }
    let mut pos = first.len();
    let end = value.len() - last.len();
    for segment in &segments[1..segments.len() - 1] {
        let segment = segment.as_bytes();
        if segment.is_empty() {
            continue;
        }
        match value[pos..end].windows(segment.len()).position(|w| w == segment) {
            Some(found) => pos += found + segment.len(),
            None => return false,
        }
    }
    true
}
