//! One pass over a raw bus record: parse it, check the envelope, and collect the leaf values
//! at the paths some rule uses.
//!
//! It decides only records it can decide exactly as the Python side would: a plainly valid
//! envelope (streams/envelope.py `_plainly_valid`) parsed the way orjson parses it. Anything
//! else (not JSON, a field of the wrong type, a duplicated key at a used path, where orjson
//! would keep the last, a key with a dot that may name a used path, or an event where the
//! array rule may apply) is left to Python,
//! which matches it or dead-letters it with the reason. Every value is parsed in full, also
//! where no rule looks, so a number or string that orjson refuses is refused here too.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::pred::{key_f64, key_i64, key_u64, Leaf, Lit};
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
}

/// Fills `values` (one list per slot) and returns the envelope's `id`, or None: undecided.
/// Every string is parsed (see Skip), and serde_json checks the UTF-8 of each string it
/// parses, so the whole record is checked as orjson checks it, in the same pass.
pub fn read<'de>(raw: &'de [u8], trie: &PathTrie, strict: bool, values: &mut [Vec<Leaf<'de>>]) -> Option<Option<Cow<'de, str>>> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let mut ctx = Ctx { trie, strict, values };
    let id = (&mut de).deserialize_map(Top { ctx: &mut ctx }).ok()?;
    de.end().ok()?;
    Some(id)
}

struct Ctx<'c, 't, 'de> {
    trie: &'t PathTrie,
    /// Some branch names a path twice, so the array rule applies even below one used path.
    strict: bool,
    values: &'c mut [Vec<Leaf<'de>>],
}

impl<'de> Ctx<'_, '_, 'de> {
    fn push(&mut self, node: u32, leaf: impl FnOnce() -> Leaf<'de>) {
        if node != NONE {
            if let Some(slot) = self.trie.nodes[node as usize].slot {
                self.values[slot as usize].push(leaf());
            }
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

/// The envelope object itself.
struct Top<'a, 'c, 't, 'de> {
    ctx: &'a mut Ctx<'c, 't, 'de>,
}

impl<'de> Visitor<'de> for Top<'_, '_, '_, 'de> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let trie = self.ctx.trie;
        let root = &trie.nodes[0];
        let mut present = 0u16;
        let mut id = None;
        while let Some(key) = map.next_key_seed(Key)? {
            let field = field_number(&key).ok_or_else(undecided)?;
            if present & 1 << field != 0 {
                return Err(undecided());
            }
            present |= 1 << field;
            let node = root.children.get(&*key).copied().unwrap_or(NONE);
            let seen = map.next_value_seed(At { ctx: &mut *self.ctx, node, in_array: false })?;
            let valid = match (field, seen) {
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
            if !valid {
                return Err(undecided());
            }
        }
        if present & REQUIRED != REQUIRED {
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

/// A value at a used-path trie node (or NONE): leaves at used paths are collected.
struct At<'a, 'c, 't, 'de> {
    ctx: &'a mut Ctx<'c, 't, 'de>,
    node: u32,
    in_array: bool,
}

impl<'de> DeserializeSeed<'de> for At<'_, '_, '_, 'de> {
    type Value = Seen<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> At<'_, '_, '_, 'de> {
    fn string(self, text: Cow<'de, str>) -> Seen<'de> {
        self.ctx.push(self.node, || Leaf::Str(text.clone()));
        Seen::Str(text)
    }

    fn scalar(self, leaf: Leaf<'de>) -> Seen<'de> {
        self.ctx.push(self.node, || leaf);
        Seen::Scalar
    }
}

impl<'de> Visitor<'de> for At<'_, '_, '_, 'de> {
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
        Ok(self.scalar(Leaf::Num(key_i64(v))))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Num(key_u64(v))))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Num(key_f64(v))))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Lit(if v { Lit::True } else { Lit::False })))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.scalar(Leaf::Lit(Lit::Null)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (ctx, node) = (self.ctx, self.node);
        let mut strings = true;
        while let Some(seen) = seq.next_element_seed(At { ctx: &mut *ctx, node, in_array: true })? {
            strings &= matches!(seen, Seen::Str(_));
        }
        Ok(Seen::Seq(strings))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (ctx, node) = (self.ctx, self.node);
        let trie = ctx.trie;
        let used = (node != NONE).then(|| &trie.nodes[node as usize]).filter(|n| !n.children.is_empty());
        let Some(used) = used else {
            while map.next_entry::<Skip, Skip>()?.is_some() {}
            return Ok(Seen::Map);
        };
        // collect()'s test for when the array rule may matter (flatten.py `_visit`).
        if self.in_array && (used.multi || ctx.strict) {
            return Err(undecided());
        }
        let mut seen: Vec<u32> = Vec::new();
        while let Some(key) = map.next_key_seed(Key)? {
            match used.children.get(&*key) {
                Some(&child) => {
                    if seen.contains(&child) {
                        return Err(undecided());
                    }
                    seen.push(child);
                    map.next_value_seed(At { ctx: &mut *ctx, node: child, in_array: false })?;
                }
                // EventBridge joins field names with dots, so the key "a.b" is also the path a
                // then b; Python walks such keys (flatten.py), this side leaves them to it.
                None if key.split_once('.').is_some_and(|(first, _)| used.children.contains_key(first)) => {
                    return Err(undecided());
                }
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
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
