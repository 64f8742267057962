//! The rules of one bus as a trie of conditions, walked once per event.
//!
//! The same shape as the Python `RuleSet` (streams/patterns/ruleset.py): each rule branch is
//! a sequence of conditions in the compiler's canonical order, branches that start alike
//! share nodes, and at each reached node each path costs one lookup per value for exact
//! strings and numbers. Other operators are tested one by one: in native code a list of a
//! few hundred prefix or range tests costs about what one Python dict lookup does.
//!
//! Two walks, as in Python: the plain one, and, for events where the array rule may matter
//! (extract.rs `arrays_matter`), one whose states carry the array elements committed to so far
//! (ruleset.py `_matching_with_arrays`, consistency.py). A test this side cannot decide
//! (pred.rs) makes every rule below that transition undecided rather than the whole event:
//! the walk goes on, and those rules, unless matched by another branch, are named for Python.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::extract::{Event, Scratch, Value};
use crate::fold::Fold;
use crate::pred::{Leaf, Pred};

pub struct Condition {
    pub slot: u32,
    pub preds: Vec<Pred>,
}

#[derive(Default)]
struct PathIndex {
    slot: u32,
    strings: FxHashMap<Box<str>, Vec<u32>>,
    numbers: FxHashMap<i64, Vec<u32>>,
    literals: [Vec<u32>; 3],
    others: Vec<(Pred, u32)>,
    exists: Vec<u32>,
    absent: Vec<u32>,
}

impl PathIndex {
    fn add(&mut self, pred: &Pred, child: u32) {
        match pred {
            Pred::Str(text) => self.strings.entry(text.clone()).or_default().push(child),
            Pred::Num(key) => self.numbers.entry(*key).or_default().push(child),
            Pred::Lit(lit) => self.literals[lit.index()].push(child),
            Pred::Exists => self.exists.push(child),
            Pred::Absent => self.absent.push(child),
            other => self.others.push((other.clone(), child)),
        }
    }

    /// Children one present leaf leads to (index.py `PathIndex.match` on one value) into `hits`,
    /// and those it may lead to, which this side cannot tell, into `unsure`.
    fn hits(&self, leaf: &Leaf, fold: &Fold, hits: &mut Vec<u32>, unsure: &mut Vec<u32>) {
        hits.extend_from_slice(&self.exists);
        match leaf {
            Leaf::Str(text) => {
                if let Some(children) = self.strings.get(&**text) {
                    hits.extend_from_slice(children);
                }
            }
            Leaf::Num(key) => {
                if let Some(children) = self.numbers.get(key) {
                    hits.extend_from_slice(children);
                }
            }
            Leaf::Big(_) => {}
            Leaf::Lit(lit) => hits.extend_from_slice(&self.literals[lit.index()]),
        }
        for (pred, child) in &self.others {
            match pred.test(leaf, fold) {
                Ok(true) => hits.push(*child),
                Ok(false) => {}
                Err(_) => unsure.push(*child),
            }
        }
    }
}

#[derive(Default)]
struct Node {
    rules: Vec<u32>,
    paths: Vec<PathIndex>,
    edges: FxHashMap<u32, u32>,
}

/// One array element used to match a field: the field's place in event-ruler's field order
/// (consistency.py `ruler_key`, as a rank) and the element's context.
type Choice = (u32, u32);

pub struct Index {
    nodes: Vec<Node>,
    /// Per slot, the rank of its path's ruler_key among all used paths.
    ranks: Vec<u32>,
    // Per-event scratch: visit stamps make each node and rule count once however often reached.
    node_stamps: Vec<u32>,
    rule_stamps: Vec<u32>,
    epoch: u32,
    stack: Vec<u32>,
    hits: Vec<u32>,
    unsure: Vec<u32>,
}

/// Rules matched, and rules Python must check (no rule in both, none twice).
#[derive(Default)]
pub struct Outcome {
    pub matched: Vec<u32>,
    pub unsure: Vec<u32>,
}

impl Index {
    /// `branches`: (rule number, condition numbers) for every branch of every rule.
    pub fn new(conditions: &[Condition], branches: &[(u32, Vec<u32>)], rule_count: usize, ranks: Vec<u32>) -> Self {
        let mut nodes = vec![Node::default()];
        for (rule, branch) in branches {
            let mut at = 0usize;
            for &cond in branch {
                let next = match nodes[at].edges.get(&cond) {
                    Some(&child) => child,
                    None => {
                        let child = nodes.len() as u32;
                        nodes.push(Node::default());
                        let node = &mut nodes[at];
                        node.edges.insert(cond, child);
                        let condition = &conditions[cond as usize];
                        let index = match node.paths.iter().position(|p| p.slot == condition.slot) {
                            Some(i) => i,
                            None => {
                                node.paths.push(PathIndex { slot: condition.slot, ..PathIndex::default() });
                                node.paths.len() - 1
                            }
                        };
                        for pred in &condition.preds {
                            node.paths[index].add(pred, child);
                        }
                        child
                    }
                };
                at = next as usize;
            }
            nodes[at].rules.push(*rule);
        }
        let count = nodes.len();
        Index {
            nodes,
            ranks,
            node_stamps: vec![0; count],
            rule_stamps: vec![0; rule_count],
            epoch: 0,
            stack: Vec::new(),
            hits: Vec::new(),
            unsure: Vec::new(),
        }
    }

    fn next_epoch(&mut self) -> u32 {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.node_stamps.fill(0);
            self.rule_stamps.fill(0);
            self.epoch = 1;
        }
        self.epoch
    }

    /// The rules the event matches and those left to Python.
    pub fn decide(&mut self, event: &Event, scratch: &Scratch, fold: &Fold, out: &mut Outcome) {
        let epoch = self.next_epoch();
        out.matched.clear();
        out.unsure.clear();
        self.unsure.clear();
        if event.arrays_matter {
            self.walk_arrays(event, &scratch.contexts, fold, epoch, &mut out.matched);
        } else {
            self.walk(&event.values, fold, epoch, &mut out.matched);
        }
        if !self.unsure.is_empty() {
            self.unsure_rules(epoch, &mut out.unsure);
        }
    }

    /// Every rule whose trie path the event's values lead to (the array rule not applying).
    fn walk(&mut self, values: &[Vec<Value>], fold: &Fold, epoch: u32, out: &mut Vec<u32>) {
        let Index { nodes, node_stamps, rule_stamps, stack, hits, unsure, .. } = self;
        stack.clear();
        stack.push(0);
        while let Some(at) = stack.pop() {
            let node = &nodes[at as usize];
            take_rules(&node.rules, rule_stamps, epoch, out);
            for index in &node.paths {
                let leaves = &values[index.slot as usize];
                hits.clear();
                if leaves.is_empty() {
                    hits.extend_from_slice(&index.absent);
                }
                for value in leaves {
                    index.hits(&value.leaf, fold, hits, unsure);
                }
                for &child in hits.iter() {
                    let stamp = &mut node_stamps[child as usize];
                    if *stamp != epoch {
                        *stamp = epoch;
                        stack.push(child);
                    }
                }
            }
        }
    }

    /// The walk with the array rule: a state is a node and the array elements used so far.
    fn walk_arrays(&mut self, event: &Event, contexts: &[(u32, u32, u32)], fold: &Fold, epoch: u32, out: &mut Vec<u32>) {
        let chains = chains(contexts);
        let fits = |ctx: u32, chosen: &[Choice]| chosen.iter().all(|&(_, other)| compatible(&chains, ctx, other));
        let Index { nodes, ranks, rule_stamps, hits, unsure, .. } = self;
        let mut stack: Vec<(u32, Vec<Choice>)> = vec![(0, Vec::new())];
        let mut seen: FxHashSet<(u32, Vec<Choice>)> = FxHashSet::default();
        let mut reached: Vec<(u32, Vec<Choice>)> = Vec::new();
        while let Some((at, chosen)) = stack.pop() {
            let node = &nodes[at as usize];
            take_rules(&node.rules, rule_stamps, epoch, out);
            for index in &node.paths {
                let present = &event.values[index.slot as usize];
                reached.clear();
                if present.is_empty() {
                    reached.extend(index.absent.iter().map(|&child| (child, chosen.clone())));
                } else {
                    let rank = ranks[index.slot as usize];
                    // consistency.py `absent_under`: no value fits the fields earlier in the order.
                    if !index.absent.is_empty() {
                        let earlier: Vec<Choice> = chosen.iter().copied().filter(|&(r, _)| r < rank).collect();
                        if !present.iter().any(|v| fits(v.ctx, &earlier)) {
                            reached.extend(index.absent.iter().map(|&child| (child, chosen.clone())));
                        }
                    }
                    for value in present {
                        if !fits(value.ctx, &chosen) {
                            continue;
                        }
                        hits.clear();
                        index.hits(&value.leaf, fold, hits, unsure);
                        if hits.is_empty() {
                            continue;
                        }
                        let mut extended = chosen.clone();
                        if value.ctx != 0 && !chosen.contains(&(rank, value.ctx)) {
                            extended.push((rank, value.ctx));
                        }
                        reached.extend(hits.iter().map(|&child| (child, extended.clone())));
                    }
                }
                for state in reached.drain(..) {
                    if seen.insert(state.clone()) {
                        stack.push(state);
                    }
                }
            }
        }
    }

    /// The rules below the transitions this side could not decide, less those matched anyway.
    fn unsure_rules(&mut self, epoch: u32, out: &mut Vec<u32>) {
        let Index { nodes, rule_stamps, stack, unsure, .. } = self;
        let mut visited = FxHashSet::default();
        stack.clear();
        stack.extend(unsure.iter().copied());
        while let Some(at) = stack.pop() {
            if !visited.insert(at) {
                continue;
            }
            let node = &nodes[at as usize];
            take_rules(&node.rules, rule_stamps, epoch, out);
            stack.extend(node.edges.values().copied());
        }
    }
}

/// Rules ending at a reached node into `out`, each once per event (by its visit stamp).
fn take_rules(rules: &[u32], stamps: &mut [u32], epoch: u32, out: &mut Vec<u32>) {
    for &rule in rules {
        let stamp = &mut stamps[rule as usize];
        if *stamp != epoch {
            *stamp = epoch;
            out.push(rule);
        }
    }
}

/// Each context as its chain of (array, element) pairs from the root.
fn chains(contexts: &[(u32, u32, u32)]) -> Vec<Vec<(u32, u32)>> {
    let mut out: Vec<Vec<(u32, u32)>> = Vec::with_capacity(contexts.len());
    for (i, &(parent, array, index)) in contexts.iter().enumerate() {
        // A context is pushed after its parent, so the parent's chain is there already.
        let mut chain = if i == 0 { Vec::new() } else { out[parent as usize].clone() };
        if i != 0 {
            chain.push((array, index));
        }
        out.push(chain);
    }
    out
}

/// consistency.py `compatible`: values in different elements of one array never go together.
fn compatible(chains: &[Vec<(u32, u32)>], a: u32, b: u32) -> bool {
    for (&(array_a, index_a), &(array_b, index_b)) in chains[a as usize].iter().zip(&chains[b as usize]) {
        if array_a != array_b {
            return true;
        }
        if index_a != index_b {
            return false;
        }
    }
    true
}
