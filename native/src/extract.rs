//! One pass over a raw bus record: parse it, check the envelope, and collect the leaf values
//! at the paths some rule uses.
//!
//! It decides records exactly as the Python side would: a plainly valid envelope
//! (streams/envelope.py `_plainly_valid`) parsed the way orjson parses it, read the way
//! streams/patterns/flatten.py reads events. So a key given twice in one object counts with its
//! last value only (orjson keeps the last), a key with dots is also the path of its parts, and
//! each leaf carries the array elements it sits in (flatten.py `collect_with_context`), for the
//! array rule. Anything that is no plainly valid envelope (not JSON, a field of the wrong type)
//! is left to Python, which dead-letters it with the reason. Every value is parsed in full, also
//! where no rule looks, so a number or string that orjson refuses is refused here too.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::pred::{leaf_f64, leaf_i64, leaf_u64, Leaf, Lit};
use crate::time::valid_time;

/// The used paths as a trie (flatten.py's TrieNode): the walk visits only these keys.
pub struct PathTrie {
    nodes: Vec<PathNode>,
}

#[derive(Default)]
struct PathNode {
    children: FxHashMap<Box<str>, u32>,
    slot: Option<u32>,
    /// More than one used path at or below here: objects in an array here bring in the array rule.
    multi: bool,
}

/// A value no rule looks into.
const NONE: u32 = u32::MAX;

impl PathTrie {
    /// Slot numbers are positions in `paths`.
    pub fn new(paths: &[Vec<String>]) -> Self {
        let mut nodes = vec![PathNode::default()];
        let mut parents = vec![0u32];
        for (slot, path) in paths.iter().enumerate() {
            let mut at = 0usize;
            for key in path {
                at = match nodes[at].children.get(key.as_str()) {
                    Some(&child) => child as usize,
                    None => {
                        let child = nodes.len();
                        nodes[at].children.insert(key.as_str().into(), child as u32);
                        nodes.push(PathNode::default());
                        parents.push(at as u32);
                        child
                    }
                };
            }
            nodes[at].slot = Some(slot as u32);
        }
        // Children come after their parents, so one backward pass sums paths per subtree.
        let mut counts: Vec<u32> = nodes.iter().map(|n| u32::from(n.slot.is_some())).collect();
        for at in (1..nodes.len()).rev() {
            counts[parents[at] as usize] += counts[at];
        }
        for (node, count) in nodes.iter_mut().zip(counts) {
            node.multi = count > 1;
        }
        PathTrie { nodes }
    }

    /// Where a key holding dots leads from `node` (flatten.py `_dotted`): every part must be a step.
    fn dotted(&self, node: u32, key: &str) -> Option<u32> {
        key.split('.').try_fold(node, |at, part| self.nodes[at as usize].children.get(part).copied())
    }
}

/// A leaf value with the array elements it sits in (a context number, see Event::contexts).
pub struct Value<'de> {
    pub leaf: Leaf<'de>,
    pub ctx: u32,
}

/// Marks a value of a key given again later in its object: the later value is the one that counts.
const DEAD: u32 = u32::MAX;
/// A log entry for a raised array-rule flag rather than a value.
const FLAG: u32 = u32::MAX;

/// What one record holds at the used paths.
pub struct Event<'de> {
    pub id: Option<Cow<'de, str>>,
    /// Leaf values per slot.
    pub values: Vec<Vec<Value<'de>>>,
    /// Whether the array rule may matter (flatten.py `collect`'s flag): objects inside an array
    /// below which rules use several paths, or any path when `strict`.
    pub arrays_matter: bool,
}

/// Buffers kept from record to record, so reading one allocates only its values.
#[derive(Default)]
pub struct Scratch {
    /// Contexts as (parent context, array number, element index); context 0 is outside any array.
    /// A context is the chain of array elements from the root to a value (flatten.py `Context`).
    pub contexts: Vec<(u32, u32, u32)>,
    /// Every value pushed and flag raised, in order, as (slot, position) or (FLAG, flag number):
    /// what one key's value brought in is a run of it, undone when the key comes again.
    log: Vec<(u32, u32)>,
    flags: Vec<bool>,
}

/// Reads a record; None when it is no plainly valid envelope (Python decides it).
/// Every string is parsed (see Skip), and serde_json checks the UTF-8 of each string it
/// parses, so the whole record is checked as orjson checks it, in the same pass.
pub fn read<'de>(raw: &'de [u8], trie: &PathTrie, strict: bool, slots: usize, scratch: &mut Scratch) -> Option<Event<'de>> {
    scratch.contexts.clear();
    scratch.contexts.push((0, 0, 0));
    scratch.log.clear();
    scratch.flags.clear();
    let mut de = serde_json::Deserializer::from_slice(raw);
    let mut ctx = Ctx {
        trie,
        strict,
        values: (0..slots).map(|_| Vec::new()).collect(),
        scratch,
        arrays: 0,
        dead: false,
        keys: Vec::with_capacity(16),
    };
    let id = (&mut de).deserialize_map(Top { ctx: &mut ctx }).ok()?;
    de.end().ok()?;
    if ctx.dead {
        for values in &mut ctx.values {
            values.retain(|v| v.ctx != DEAD);
        }
    }
    let arrays_matter = ctx.scratch.flags.iter().any(|&raised| raised);
    Some(Event { id, values: ctx.values, arrays_matter })
}

struct Ctx<'t, 'de> {
    trie: &'t PathTrie,
    /// Some branch names a path twice, so the array rule applies even below one used path.
    strict: bool,
    values: Vec<Vec<Value<'de>>>,
    scratch: &'t mut Scratch,
    arrays: u32,
    dead: bool,
    /// The keys of the objects being read that reached a used path, with their runs of the log:
    /// each object owns the entries from where it started.
    keys: Vec<(Cow<'de, str>, usize, usize)>,
}

impl<'de> Ctx<'_, 'de> {
    fn push(&mut self, node: u32, ctx: u32, leaf: impl FnOnce() -> Leaf<'de>) {
        if node != NONE {
            if let Some(slot) = self.trie.nodes[node as usize].slot {
                let values = &mut self.values[slot as usize];
                self.scratch.log.push((slot, values.len() as u32));
                values.push(Value { leaf: leaf(), ctx });
            }
        }
    }

    fn flag(&mut self) {
        self.scratch.log.push((FLAG, self.scratch.flags.len() as u32));
        self.scratch.flags.push(true);
    }

    /// Undoes what a key's earlier value brought in.
    fn forget(&mut self, from: usize, to: usize) {
        for &(slot, at) in &self.scratch.log[from..to] {
            if slot == FLAG {
                self.scratch.flags[at as usize] = false;
            } else {
                self.values[slot as usize][at as usize].ctx = DEAD;
                self.dead = true;
            }
        }
    }

    /// The key of the object whose keys start at `base` is read from here to the log's end:
    /// when the object had it before, the earlier value no longer counts.
    fn keep_last(&mut self, base: usize, key: Cow<'de, str>, start: usize) {
        let end = self.scratch.log.len();
        if let Some(i) = self.keys[base..].iter().position(|(k, _, _)| *k == key) {
            let (_, from, to) = self.keys[base + i];
            self.forget(from, to);
            self.keys[base + i] = (key, start, end);
        } else {
            self.keys.push((key, start, end));
        }
    }
}

/// What a value was, for the envelope's type checks.
enum Seen<'de> {
    Str(Cow<'de, str>),
    Scalar,
    Map,
    /// An array; true when every element is a string.
    Seq(bool),
}

/// The envelope's fields in envelope.FIELDS's order: EnvelopeMatcher::new checks the Python list
/// against this one (and `field_number` against both).
pub const FIELDS: [&str; 10] =
    ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail", "replay-name"];

/// The envelope's fields (envelope.FIELDS), numbered for a bit set of those seen.
pub fn field_number(key: &str) -> Option<usize> {
    Some(match key {
        "version" => 0,
        "id" => ID,
        "detail-type" => DETAIL_TYPE,
        "source" => SOURCE,
        "account" => 4,
        "time" => TIME,
        "region" => 6,
        "resources" => RESOURCES,
        "detail" => DETAIL,
        "replay-name" => 9,
        _ => return None,
    })
}

const ID: usize = 1;
const DETAIL_TYPE: usize = 2;
const SOURCE: usize = 3;
const TIME: usize = 5;
const RESOURCES: usize = 7;
const DETAIL: usize = 8;
const REQUIRED: u16 = 1 << DETAIL_TYPE | 1 << SOURCE | 1 << DETAIL;

fn undecided<E: de::Error>() -> E {
    E::custom("undecided")
}

/// The envelope object itself. A field given twice counts with its last value, as in orjson's dict.
struct Top<'a, 't, 'de> {
    ctx: &'a mut Ctx<'t, 'de>,
}

impl<'de> Visitor<'de> for Top<'_, '_, 'de> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.ctx;
        let root = &ctx.trie.nodes[0];
        let (mut present, mut valid) = (0u16, 0u16);
        let mut id = None;
        while let Some(key) = map.next_key_seed(Key)? {
            let field = field_number(&key).ok_or_else(undecided)?;
            present |= 1 << field;
            let node = root.children.get(&*key).copied().unwrap_or(NONE);
            let start = ctx.scratch.log.len();
            let seen = map.next_value_seed(At { ctx: &mut *ctx, node, here: 0, element: None })?;
            ctx.keep_last(0, key, start);
            let ok = match (field, seen) {
                (SOURCE | DETAIL_TYPE, Seen::Str(s)) => !s.is_empty(),
                (TIME, Seen::Str(s)) => valid_time(&s),
                (ID, Seen::Str(s)) => {
                    id = Some(s);
                    true
                }
                (RESOURCES, Seen::Seq(strings)) => strings,
                (DETAIL, Seen::Map) => true,
                (TIME | RESOURCES | DETAIL, _) => false,
                (_, Seen::Str(_)) => true,
                _ => false,
            };
            valid = if ok { valid | 1 << field } else { valid & !(1 << field) };
        }
        if present & REQUIRED != REQUIRED || valid != present {
            return Err(undecided());
        }
        Ok(id)
    }
}

/// A map key, borrowed from the record when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// A value at a used-path trie node (or NONE): leaves at used paths are collected, in context
/// `here`; `element` is (array number, index) when the value is an element of an array.
struct At<'a, 't, 'de> {
    ctx: &'a mut Ctx<'t, 'de>,
    node: u32,
    here: u32,
    element: Option<(u32, u32)>,
}

impl<'de> DeserializeSeed<'de> for At<'_, '_, 'de> {
    type Value = Seen<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> At<'_, '_, 'de> {
    fn string(self, text: Cow<'de, str>) -> Seen<'de> {
        self.ctx.push(self.node, self.here, || Leaf::Str(text.clone()));
        Seen::Str(text)
    }

    fn scalar(self, leaf: Leaf<'de>) -> Seen<'de> {
        self.ctx.push(self.node, self.here, || leaf);
        Seen::Scalar
    }

    /// The context of this value's own contents: an array element that is an object or an
    /// array opens one (flatten.py `_visit_context`); scalars stay in their array's.
    fn inner(&mut self) -> u32 {
        match self.element {
            Some((array, index)) if self.node != NONE => {
                let contexts = &mut self.ctx.scratch.contexts;
                contexts.push((self.here, array, index));
                (contexts.len() - 1) as u32
            }
            _ => self.here,
        }
    }
}

impl<'de> Visitor<'de> for At<'_, '_, 'de> {
    type Value = Seen<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(self.string(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.string(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(self.string(Cow::Owned(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.scalar(leaf_i64(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.scalar(leaf_u64(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self.scalar(leaf_f64(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Lit(if v { Lit::True } else { Lit::False })))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Lit(Lit::Null)))
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
        let here = self.inner();
        let (ctx, node) = (self.ctx, self.node);
        let array = ctx.arrays;
        ctx.arrays += 1;
        let mut strings = true;
        let mut index = 0;
        while let Some(seen) = seq.next_element_seed(At { ctx: &mut *ctx, node, here, element: Some((array, index)) })? {
            strings &= matches!(seen, Seen::Str(_));
            index += 1;
        }
        Ok(Seen::Seq(strings))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let trie = self.ctx.trie;
        let used = (self.node != NONE).then(|| &trie.nodes[self.node as usize]).filter(|n| !n.children.is_empty());
        let Some(used) = used else {
            while map.next_entry::<Skip, Skip>()?.is_some() {}
            return Ok(Seen::Map);
        };
        let here = self.inner();
        let (ctx, node) = (self.ctx, self.node);
        if self.element.is_some() && (used.multi || ctx.strict) {
            ctx.flag();
        }
        let base = ctx.keys.len();
        while let Some(key) = map.next_key_seed(Key)? {
            let child = match used.children.get(&*key) {
                Some(&child) => Some(child),
                // EventBridge joins field names with dots, so the key "a.b" is also the path a, b.
                None if key.contains('.') => trie.dotted(node, &key),
                None => None,
            };
            match child {
                Some(child) => {
                    let start = ctx.scratch.log.len();
                    map.next_value_seed(At { ctx: &mut *ctx, node: child, here, element: None })?;
                    ctx.keep_last(base, key, start);
                }
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        ctx.keys.truncate(base);
        Ok(Seen::Map)
    }
}

/// A value no rule reads, parsed in full (not skipped) so that what orjson refuses is refused.
struct Skip;

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}
