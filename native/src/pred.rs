//! Event leaf values and the pattern engine's value predicates, tested on one leaf.
//!
//! The reference semantics are `streams/patterns/predicates.py`, and each test here decides as
//! that one does: numbers outside EventBridge's numeric range compare by exact value (as Python
//! compares an int with a float), `cidr` reads addresses as inet_pton does (ip.rs), and
//! ignore-case lower-cases text as `str.lower()` does (fold.rs). The one test that can answer
//! `Undecided` is ignore-case on non-ASCII text in a matcher built without Python's case tables:
//! the walk then leaves the rules behind that test to Python (index.rs), so the fast path may
//! defer a rule, never disagree.

use std::borrow::Cow;

use crate::fold::Fold;
use crate::ip::parse_ip;

/// The Python engine must decide this test.
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

/// A number outside the numeric range, by value: the integer it equals (if any fits in i128)
/// and the float it equals (if it is one). Two such numbers are equal exactly when they share
/// one of the two, which is Python's `==` between ints and floats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Big {
    pub int: Option<i128>,
    pub float: Option<f64>,
}

impl Big {
    pub fn of_int(v: i128) -> Self {
        let float = v as f64;
        let exact = float.is_finite() && float >= -(2f64.powi(127)) && float < 2f64.powi(127) && float as i128 == v;
        Big { int: Some(v), float: exact.then_some(float) }
    }

    pub fn of_float(v: f64) -> Self {
        let int = (v.fract() == 0.0 && v >= -(2f64.powi(127)) && v < 2f64.powi(127)).then_some(v as i128);
        Big { int, float: Some(v) }
    }

    fn equals(&self, other: &Big) -> bool {
        (self.int.is_some() && self.int == other.int) || (self.float.is_some() && self.float == other.float)
    }
}

/// A scalar found at a path some rule uses.
#[derive(Clone, Debug)]
pub enum Leaf<'a> {
    Str(Cow<'a, str>),
    /// A number in [-5e9, 5e9], as millionths (`numeric.numeric_key`).
    Num(i64),
    /// A number outside it, which only exact conditions compare.
    Big(Big),
    Lit(Lit),
}

/// numeric.MAX_NUMBER and numeric.SCALE: the Python side hands its own to EnvelopeMatcher::new,
/// which refuses to build if they differ, so a change on one side cannot silently split the two.
pub const MAX_NUMBER: i64 = 5_000_000_000;
pub const SCALE: i64 = 1_000_000;

pub fn leaf_i64(v: i64) -> Leaf<'static> {
    if (-MAX_NUMBER..=MAX_NUMBER).contains(&v) {
        Leaf::Num(v * SCALE)
    } else {
        Leaf::Big(Big::of_int(i128::from(v)))
    }
}

pub fn leaf_u64(v: u64) -> Leaf<'static> {
    if v <= MAX_NUMBER as u64 {
        Leaf::Num(v as i64 * SCALE)
    } else {
        Leaf::Big(Big::of_int(i128::from(v)))
    }
}

/// Python's `round(value * 1_000_000)` in range: the same float product, rounded half to even.
pub fn leaf_f64(v: f64) -> Leaf<'static> {
    if v >= -(MAX_NUMBER as f64) && v <= MAX_NUMBER as f64 {
        Leaf::Num((v * SCALE as f64).round_ties_even() as i64)
    } else {
        Leaf::Big(Big::of_float(v))
    }
}

#[derive(Clone, Debug)]
pub enum Pred {
    Str(Box<str>),
    Num(i64),
    /// An exact number outside the numeric range.
    BigNum(Big),
    Lit(Lit),
    Prefix(Box<str>, bool),
    Suffix(Box<str>, bool),
    /// Stored lower-cased.
    IgnoreCase(Box<str>),
    Wildcard(Vec<Box<str>>),
    Range(i64, i64),
    /// IP version, prefix length, network number (the address shifted right past the host bits).
    Cidr(u8, u8, u128),
    Exists,
    Absent,
    AnythingBut(Vec<Pred>),
}

impl Pred {
    pub fn test(&self, leaf: &Leaf, fold: &Fold) -> Result<bool, Undecided> {
        Ok(match (self, leaf) {
            (Pred::Str(text), Leaf::Str(value)) => **text == **value,
            (Pred::Num(key), Leaf::Num(value)) => key == value,
            (Pred::BigNum(big), Leaf::Big(value)) => big.equals(value),
            (Pred::Lit(lit), Leaf::Lit(value)) => lit == value,
            (Pred::Prefix(text, false), Leaf::Str(value)) => value.starts_with(&**text),
            (Pred::Prefix(text, true), Leaf::Str(value)) => fold.lower(value)?.starts_with(&**text),
            (Pred::Suffix(text, false), Leaf::Str(value)) => value.ends_with(&**text),
            (Pred::Suffix(text, true), Leaf::Str(value)) => fold.lower(value)?.ends_with(&**text),
            (Pred::IgnoreCase(text), Leaf::Str(value)) => *fold.lower(value)? == **text,
            (Pred::Wildcard(segments), Leaf::Str(value)) => wildcard_match(segments, value),
            (Pred::Range(low, high), Leaf::Num(key)) => low <= key && key <= high,
            (Pred::Cidr(version, prefixlen, network), Leaf::Str(value)) => match parse_ip(value) {
                Some((v, address)) if v == *version => {
                    let bits = if v == 4 { 32 } else { 128 };
                    address.checked_shr(bits - u32::from(*prefixlen)).unwrap_or(0) == *network
                }
                _ => false,
            },
            (Pred::Exists, _) => true,
            (Pred::AnythingBut(excluded), _) => {
                for p in excluded {
                    if p.test(leaf, fold)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        })
    }
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
