//! busbar's router fast path: one call per bus record decides whether it is a plainly valid
//! event envelope and which of the bus's rules it matches, straight from the record's bytes.
//!
//! The Python pattern engine (streams/patterns) stays the reference: rules are compiled and
//! validated there and handed over here already compiled. Every operator family and every
//! event shape is decided here as Python decides it (extract.rs, pred.rs, index.rs); a record
//! that is no plainly valid envelope, or is over the size limit, is answered with None and takes
//! the Python path whole, which dead-letters or matches it. Where one test cannot be decided here
//! (pred.rs), only the rules behind it are named for Python to check, and every other rule is
//! still decided. The equivalence is tested by property tests on the Python side
//! (tests/test_native_matcher.py).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

mod extract;
mod fold;
mod index;
mod ip;
mod pred;
mod time;

use extract::{PathTrie, Scratch};
use fold::Fold;
use index::{Condition, Index, Outcome};
use pred::{Big, Lit, Pred};

#[pyclass(module = "busbar_native")]
struct EnvelopeMatcher {
    trie: PathTrie,
    strict: bool,
    /// The envelope size limit (envelope.MAX_EVENT_BYTES): larger records take the Python path.
    max_bytes: usize,
    slots: usize,
    index: Index,
    fold: Fold,
    scratch: Scratch,
    outcome: Outcome,
    rules: Vec<Py<PyAny>>,
}

#[pymethods]
impl EnvelopeMatcher {
    /// paths: the used paths, slot = position. conditions: (slot, encoded predicates).
    /// branches: (rule number, condition numbers). rules: the objects `route` hands back.
    /// strict: some branch names a path twice. max_bytes: the envelope size limit.
    /// fields: envelope.FIELDS; numbers: (numeric.MIN_NUMBER, MAX_NUMBER, SCALE). Both are what
    /// this module decides by; it refuses to build when Python's differ from its own.
    /// ranks: per path, its place in event-ruler's field order (consistency.ruler_key), which
    /// the array rule for `exists: false` follows. lowercase: (code point, its `str.lower()`)
    /// for every code point Python lower-cases; sigma: (case-ignorable, other cased) code point
    /// ranges, for capital sigma (fold.rs). Without them, rules testing non-ASCII text under
    /// ignore-case are left to Python for the events that have such text.
    #[new]
    #[pyo3(signature = (paths, conditions, branches, rules, strict, max_bytes, fields=None, numbers=None,
                        ranks=None, lowercase=None, sigma=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        paths: Vec<Vec<String>>,
        conditions: Vec<(u32, Vec<Bound<'_, PyAny>>)>,
        branches: Vec<(u32, Vec<u32>)>,
        rules: Vec<Py<PyAny>>,
        strict: bool,
        max_bytes: usize,
        fields: Option<Vec<String>>,
        numbers: Option<(i64, i64, i64)>,
        ranks: Option<Vec<u32>>,
        lowercase: Option<Vec<(char, String)>>,
        sigma: Option<(fold::Ranges, fold::Ranges)>,
    ) -> PyResult<Self> {
        if let Some(fields) = fields {
            let known = fields.iter().enumerate().all(|(i, f)| extract::field_number(f) == Some(i));
            if fields.len() != extract::FIELDS.len() || !known {
                return Err(PyValueError::new_err(format!(
                    "envelope fields {fields:?} differ from the native matcher's {:?}",
                    extract::FIELDS
                )));
            }
        }
        if let Some(numbers) = numbers {
            let own = (-pred::MAX_NUMBER, pred::MAX_NUMBER, pred::SCALE);
            if numbers != own {
                return Err(PyValueError::new_err(format!(
                    "numeric range and scale {numbers:?} differ from the native matcher's {own:?}"
                )));
            }
        }
        let conditions = conditions
            .into_iter()
            .map(|(slot, preds)| {
                if slot as usize >= paths.len() {
                    return Err(PyValueError::new_err(format!("condition slot {slot} has no path")));
                }
                Ok(Condition { slot, preds: preds.iter().map(decode_pred).collect::<PyResult<_>>()? })
            })
            .collect::<PyResult<Vec<_>>>()?;
        for (rule, branch) in &branches {
            if *rule as usize >= rules.len() || branch.iter().any(|&c| c as usize >= conditions.len()) {
                return Err(PyValueError::new_err("a branch refers to an unknown rule or condition"));
            }
        }
        let ranks = ranks.unwrap_or_else(|| vec![0; paths.len()]);
        if ranks.len() != paths.len() {
            return Err(PyValueError::new_err("ranks must give one rank per path"));
        }
        Ok(EnvelopeMatcher {
            trie: PathTrie::new(&paths),
            strict,
            max_bytes,
            slots: paths.len(),
            index: Index::new(&conditions, &branches, rules.len(), ranks),
            fold: Fold::new(lowercase, sigma),
            scratch: Scratch::default(),
            outcome: Outcome::default(),
            rules,
        })
    }

    /// (event id as bytes or None, matched rules, rules Python must check or None) for a plainly
    /// valid envelope; None when Python must decide the whole record (not a plainly valid
    /// envelope, or over the size limit). The third item is None unless some rule could not be
    /// decided here; the rules it names are in no particular order and not among the matched.
    fn route<'py>(&mut self, py: Python<'py>, raw: &[u8]) -> PyResult<Option<Bound<'py, PyTuple>>> {
        if raw.len() > self.max_bytes {
            return Ok(None);
        }
        let Some(event) = extract::read(raw, &self.trie, self.strict, self.slots, &mut self.scratch) else {
            return Ok(None);
        };
        self.index.decide(&event, &self.scratch, &self.fold, &mut self.outcome);
        let outcome = &self.outcome;
        let id = match &event.id {
            Some(id) => PyBytes::new(py, id.as_bytes()).into_any(),
            None => py.None().into_bound(py),
        };
        let tuple_of = |rules: &[u32]| PyTuple::new(py, rules.iter().map(|&r| self.rules[r as usize].clone_ref(py)));
        let matched = tuple_of(&outcome.matched)?.into_any();
        let unsure = if outcome.unsure.is_empty() { py.None().into_bound(py) } else { tuple_of(&outcome.unsure)?.into_any() };
        Ok(Some(PyTuple::new(py, [id, matched, unsure])?))
    }
}

/// One predicate as streams/router/native.py encodes it: (tag, arguments...).
fn decode_pred(obj: &Bound<'_, PyAny>) -> PyResult<Pred> {
    let tag: String = obj.get_item(0)?.extract()?;
    let arg = |i: usize| obj.get_item(i);
    Ok(match tag.as_str() {
        "str" => Pred::Str(arg(1)?.extract::<String>()?.into()),
        "num" => Pred::Num(arg(1)?.extract()?),
        "bignum" => Pred::BigNum(Big { int: arg(1)?.extract()?, float: arg(2)?.extract()? }),
        "lit" => Pred::Lit(match arg(1)?.extract::<Option<bool>>()? {
            Some(true) => Lit::True,
            Some(false) => Lit::False,
            None => Lit::Null,
        }),
        "prefix" => Pred::Prefix(arg(1)?.extract::<String>()?.into(), arg(2)?.extract()?),
        "suffix" => Pred::Suffix(arg(1)?.extract::<String>()?.into(), arg(2)?.extract()?),
        "ignore-case" => Pred::IgnoreCase(arg(1)?.extract::<String>()?.into()),
        "wildcard" => {
            let segments: Vec<String> = arg(1)?.extract()?;
            if segments.is_empty() {
                return Err(PyValueError::new_err("a wildcard needs at least one segment"));
            }
            Pred::Wildcard(segments.into_iter().map(String::into_boxed_str).collect())
        }
        "range" => Pred::Range(arg(1)?.extract()?, arg(2)?.extract()?),
        "cidr" => {
            let (version, prefixlen, network): (u8, u8, u128) = (arg(1)?.extract()?, arg(2)?.extract()?, arg(3)?.extract()?);
            let bits = if version == 4 { 32 } else { 128 };
            if !(version == 4 || version == 6) || u32::from(prefixlen) > bits {
                return Err(PyValueError::new_err(format!("no CIDR block has version {version} and length {prefixlen}")));
            }
            Pred::Cidr(version, prefixlen, network)
        }
        "exists" => Pred::Exists,
        "absent" => Pred::Absent,
        "anything-but" => {
            let excluded: Vec<Bound<'_, PyAny>> = arg(1)?.extract()?;
            Pred::AnythingBut(excluded.iter().map(decode_pred).collect::<PyResult<_>>()?)
        }
        other => return Err(PyValueError::new_err(format!("unknown predicate tag {other:?}"))),
    })
}

#[pymodule]
fn busbar_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EnvelopeMatcher>()
}
