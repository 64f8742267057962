//! The rules of one bus as a trie of conditions, walked once per event.
//!
//! The same shape as the Python `RuleSet` (streams/patterns/ruleset.py): each rule branch is
//! a sequence of conditions in the compiler's canonical order, branches that start alike
//! share nodes, and at each reached node each path costs one lookup per value for exact
//! strings and numbers. Other operators are tested one by one: in native code a list of a
//! few hundred prefix or range tests costs about what one Python dict lookup does.

use rustc_hash::FxHashMap;

use crate::pred::{Leaf, Pred, Undecided};

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
}

#[derive(Default)]
struct Node {
    rules: Vec<u32>,
    paths: Vec<PathIndex>,
    edges: FxHashMap<u32, u32>,
}

/// Leaf values per slot for one event.
pub type SlotValues<'a> = [Vec<Leaf<'a>>];

pub struct Index {
    nodes: Vec<Node>,
    // Per-event scratch: visit stamps make each node and rule count once however often reached.
    node_stamps: Vec<u32>,
    rule_stamps: Vec<u32>,
    epoch: u32,
    stack: Vec<u32>,
}

impl Index {
    /// `branches`: (rule number, condition numbers) for every branch of every rule.
    pub fn new(conditions: &[Condition], branches: &[(u32, Vec<u32>)], rule_count: usize) -> Self {
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
        Index { nodes, node_stamps: vec![0; count], rule_stamps: vec![0; rule_count], epoch: 0, stack: Vec::new() }
    }

    /// Rule numbers the event's values reach, each once, into `out`.
    pub fn walk(&mut self, values: &SlotValues, out: &mut Vec<u32>) -> Result<(), Undecided> {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.node_stamps.fill(0);
            self.rule_stamps.fill(0);
            self.epoch = 1;
        }
        let epoch = self.epoch;
        let Index { nodes, node_stamps, rule_stamps, stack, .. } = self;
        stack.clear();
        stack.push(0);
        let mut reach = |children: &[u32], stack: &mut Vec<u32>| {
            for &child in children {
                let stamp = &mut node_stamps[child as usize];
                if *stamp != epoch {
                    *stamp = epoch;
                    stack.push(child);
                }
            }
        };
        while let Some(at) = stack.pop() {
            let node = &nodes[at as usize];
            for &rule in &node.rules {
                let stamp = &mut rule_stamps[rule as usize];
                if *stamp != epoch {
                    *stamp = epoch;
                    out.push(rule);
                }
            }
            for index in &node.paths {
                let leaves = &values[index.slot as usize];
                if leaves.is_empty() {
                    reach(&index.absent, stack);
                    continue;
                }
                reach(&index.exists, stack);
                for leaf in leaves {
                    match leaf {
                        Leaf::Str(text) => {
                            if let Some(children) = index.strings.get(&**text) {
                                reach(children, stack);
                            }
                        }
                        Leaf::Num(Some(key)) => {
                            if let Some(children) = index.numbers.get(key) {
                                reach(children, stack);
                            }
                        }
                        Leaf::Num(None) => {}
                        Leaf::Lit(lit) => reach(&index.literals[lit.index()], stack),
                    }
                    for (pred, child) in &index.others {
                        if pred.test(leaf)? {
                            reach(std::slice::from_ref(child), stack);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
