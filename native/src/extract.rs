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
//!
//! This runs once per bus record, so it allocates nothing in the common case: the record's
//! UTF-8 is checked once as a whole rather than string by string, and the per-slot value lists
//! and key lists are kept in Scratch from record to record (see `recycle`).

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
    children: Children,
    slot: Option<u32>,
    /// More than one used path at or below here: objects in an array here bring in the array rule.
    multi: bool,
}

/// A value no rule looks into.
const NONE: u32 = u32::MAX;

/// A trie node's children by key. Every key of every object on a used path is looked up here,
/// and most nodes have a few children: scanning those (lengths first) costs less than hashing
/// the key. Nodes with many children hash.
#[derive(Default)]
struct Children {
    few: Vec<(Box<str>, u32)>,
    many: FxHashMap<Box<str>, u32>,
}

/// Up to this many children are scanned.
const FEW: usize = 12;

impl Children {
    fn get(&self, key: &str) -> Option<u32> {
        if self.many.is_empty() {
            self.few.iter().find(|(k, _)| k.len() == key.len() && **k == *key).map(|&(_, child)| child)
        } else {
            self.many.get(key).copied()
        }
    }

    fn insert(&mut self, key: &str, child: u32) {
        self.few.push((key.into(), child));
        if self.few.len() > FEW || !self.many.is_empty() {
            self.many.extend(self.few.drain(..));
        }
    }

    fn is_empty(&self) -> bool {
        self.few.is_empty() && self.many.is_empty()
    }
}

impl PathTrie {
    /// Slot numbers are positions in `paths`.
    pub fn new(paths: &[Vec<String>]) -> Self {
        let mut nodes = vec![PathNode::default()];
        let mut parents = vec![0u32];
        for (slot, path) in paths.iter().enumerate() {
            let mut at = 0usize;
            for key in path {
                at = match nodes[at].children.get(key) {
                    Some(child) => child as usize,
                    None => {
                        let child = nodes.len();
                        nodes[at].children.insert(key, child as u32);
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
        key.split('.').try_fold(node, |at, part| self.nodes[at as usize].children.get(part))
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

/// Buffers kept from record to record, so reading one allocates nothing once they have grown.
#[derive(Default)]
pub struct Scratch {
    /// Contexts as (parent context, array number, element index); context 0 is outside any array.
    /// A context is the chain of array elements from the root to a value (flatten.py `Context`).
    pub contexts: Vec<(u32, u32, u32)>,
    /// Every value pushed and flag raised, in order, as (slot, position) or (FLAG, flag number):
    /// what one key's value brought in is a run of it, undone when the key comes again.
    log: Vec<(u32, u32)>,
    flags: Vec<bool>,
    /// The last record's per-slot value lists and key list, emptied (see Ctx::keys).
    values: Vec<Vec<Value<'static>>>,
    keys: Vec<SeenKey<'static>>,
}

impl Scratch {
    /// Takes back an event's value lists for the next record.
    pub fn give_back(&mut self, values: Vec<Vec<Value<'_>>>) {
        self.values = values.into_iter().map(recycle).collect();
    }
}

/// The same buffer, emptied, for items of another lifetime: collecting an emptied Vec's
/// iterator into a Vec of the same layout reuses its allocation (std's in-place collect), so
/// a record's borrowed values can live in buffers kept across records without unsafe code.
fn recycle<T, U>(mut items: Vec<T>) -> Vec<U> {
    items.clear();
    items.into_iter().map(|_| unreachable!("the vector was emptied")).collect()
}

/// Reads a record; None when it is no plainly valid envelope (Python decides it).
/// The record's UTF-8 is checked once, up front, as orjson checks it; serde_json then parses
/// every string (see Skip) without checking each again.
pub fn read<'de>(raw: &'de [u8], trie: &PathTrie, strict: bool, slots: usize, scratch: &mut Scratch) -> Option<Event<'de>> {
    let text = std::str::from_utf8(raw).ok()?;
    scratch.contexts.clear();
    scratch.contexts.push((0, 0, 0));
    scratch.log.clear();
    scratch.flags.clear();
    let mut values: Vec<Vec<Value<'de>>> = std::mem::take(&mut scratch.values).into_iter().map(recycle).collect();
    values.resize_with(slots, Vec::new);
    let keys = recycle(std::mem::take(&mut scratch.keys));
    let mut de = serde_json::Deserializer::from_str(text);
    let mut ctx = Ctx { trie, strict, values, scratch, arrays: 0, dead: false, keys };
    let read = (&mut de).deserialize_map(Top { ctx: &mut ctx }).and_then(|id| de.end().map(|()| id));
    let Ctx { mut values, scratch, keys, dead, .. } = ctx;
    scratch.keys = recycle(keys);
    let Ok(id) = read else {
        scratch.give_back(values);
        return None;
    };
    if dead {
        for values in &mut values {
            values.retain(|v| v.ctx != DEAD);
        }
    }
    let arrays_matter = scratch.flags.iter().any(|&raised| raised);
    Some(Event { id, values, arrays_matter })
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
    keys: Vec<SeenKey<'de>>,
}

/// A key that reached a used path: (the key, the trie node it leads to, its run of the log).
/// Within one object, only the same key leads to the same node (but for dotted keys), so the
/// node tells most keys apart before their text is compared.
type SeenKey<'de> = (Cow<'de, str>, u32, usize, usize);

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
    fn keep_last(&mut self, base: usize, key: Cow<'de, str>, node: u32, start: usize) {
        let end = self.scratch.log.len();
        if let Some(i) = self.keys[base..].iter().position(|(k, n, _, _)| *n == node && *k == key) {
            let (_, _, from, to) = self.keys[base + i];
            self.forget(from, to);
            self.keys[base + i] = (key, node, start, end);
        } else {
            self.keys.push((key, node, start, end));
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
        // Each field's run of the log: fields are known keys, so a repeat is told by its bit.
        let mut runs = [(0, 0); FIELDS.len()];
        let mut id = None;
        while let Some(key) = map.next_key_seed(Key)? {
            let field = field_number(&key).ok_or_else(undecided)?;
            let node = root.children.get(&key).unwrap_or(NONE);
            let start = ctx.scratch.log.len();
            let seen = map.next_value_seed(At { ctx: &mut *ctx, node, here: 0, element: None })?;
            if present & 1 << field != 0 {
                ctx.forget(runs[field].0, runs[field].1);
            }
            present |= 1 << field;
            runs[field] = (start, ctx.scratch.log.len());
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
            let child = match used.children.get(&key) {
                Some(child) => Some(child),
                // EventBridge joins field names with dots, so the key "a.b" is also the path a, b.
                None if key.contains('.') => trie.dotted(node, &key),
                None => None,
            };
            match child {
                Some(child) => {
                    let start = ctx.scratch.log.len();
                    map.next_value_seed(At { ctx: &mut *ctx, node: child, here, element: None })?;
                    ctx.keep_last(base, key, child, start);
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

#[cfg(test)]
mod tests {
    use super::recycle;

    #[test]
    fn recycling_keeps_the_buffer() {
        let text = String::from("abc");
        let mut borrowed: Vec<&str> = Vec::with_capacity(8);
        borrowed.push(&text);
        let at = borrowed.as_ptr() as usize;
        let kept: Vec<&'static str> = recycle(borrowed);
        assert_eq!((kept.as_ptr() as usize, kept.capacity(), kept.len()), (at, 8, 0));
    }
}
