"""Many rules compiled into one index, so per-event work follows the event, not the rule count.

The index is a trie of conditions (event-ruler's state machine, in spirit). Each rule branch
is a sequence of conditions in a canonical order (Condition.order: selective exact fields
such as source and detail-type first), and branches that start alike share trie nodes. An
event walks the trie from the root: at each reached node, each path leaving it costs one
PathIndex lookup, which returns the children whose condition holds. Rule ids stored at
reached nodes match. Rules that share no prefix with the event's routing fields are never
touched, so 10,000 rules cost about what 100 do.

Adding or removing a rule touches only its own trie path; the used-path trie that prunes
the event walk is rebuilt lazily, and only when the set of distinct paths changes.

The array rule (values from different elements of one array never match together) is only
relevant when an event has objects inside arrays under several used paths; such events take
a slower walk that carries, per reached node, the array elements committed to so far.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from typing import Any

from .compiler import Branch, Condition
from .consistency import compatible_with_all
from .flatten import Context, Path, build_trie, collect, collect_with_context, decode_event
from .index import PathIndex
from .pattern import EventPattern, compile_pattern


class _Node:
    """A trie state: conditions leaving it, grouped by path, and the rules that end here.

    `plan` is what matching reads: (path, matcher) pairs as one tuple, rebuilt after a
    change, so a visit touches as little memory as possible.
    """

    __slots__ = ("paths", "edges", "rules", "refs", "plan")

    def __init__(self) -> None:
        self.paths: dict[Path, PathIndex] = {}
        self.edges: dict[Condition, _Node] = {}
        self.rules: Counter[Hashable] = _NO_RULES
        self.refs = 0
        self.plan: tuple[tuple[Path, Any], ...] = ()

    def replan(self) -> None:
        self.plan = tuple((path, index.match) for path, index in self.paths.items())


_NO_RULES: Counter[Hashable] = Counter()


class RuleSet:
    """A mutable set of named event patterns, matched together."""

    def __init__(self) -> None:
        self._root = _Node()
        self._patterns: dict[Hashable, EventPattern] = {}
        self._path_refs: Counter[Path] = Counter()
        self._trie = build_trie(())
        self._trie_stale = False
        # Branches naming one path twice make the array rule apply even to a single path.
        self._repeated_paths = 0

    def __len__(self) -> int:
        return len(self._patterns)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._patterns

    def add(self, rule_id: Hashable, pattern: str | dict[str, Any] | EventPattern) -> None:
        """Add or replace a rule; the pattern is validated first, so a bad one changes nothing."""
        compiled = compile_pattern(pattern)  # type: ignore[arg-type]
        if rule_id in self._patterns:
            self.remove(rule_id)
        self._patterns[rule_id] = compiled
        for branch in compiled.branches:
            self._insert(rule_id, branch)

    def remove(self, rule_id: Hashable) -> None:
        """Remove a rule; KeyError if it is not there."""
        compiled = self._patterns.pop(rule_id)
        for branch in compiled.branches:
            self._delete(rule_id, branch)

    def _insert(self, rule_id: Hashable, branch: Branch) -> None:
        node = self._root
        node.refs += 1
        for condition in branch:
            child = node.edges.get(condition)
            if child is None:
                child = node.edges[condition] = _Node()
                index = node.paths.get(condition.path)
                if index is None:
                    index = node.paths[condition.path] = PathIndex()
                index.add(condition.predicates, child)
                node.replan()
            child.refs += 1
            node = child
        if node.rules is _NO_RULES:
            node.rules = Counter()
        node.rules[rule_id] += 1
        self._count_paths(branch, 1)

    def _delete(self, rule_id: Hashable, branch: Branch) -> None:
        node = self._root
        node.refs -= 1
        for condition in branch:
            child = node.edges[condition]
            child.refs -= 1
            if child.refs == 0:
                del node.edges[condition]
                index = node.paths[condition.path]
                index.remove(condition.predicates, child)
                if index.size == 0:
                    del node.paths[condition.path]
                node.replan()
            node = child
        node.rules[rule_id] -= 1
        if node.rules[rule_id] == 0:
            del node.rules[rule_id]
            if not node.rules:
                node.rules = _NO_RULES
        self._count_paths(branch, -1)

    def _count_paths(self, branch: Branch, delta: int) -> None:
        paths = [c.path for c in branch]
        if len(set(paths)) != len(paths):
            self._repeated_paths += delta
        for path in paths:
            before = self._path_refs[path]
            self._path_refs[path] = before + delta
            if before == 0 or before + delta == 0:
                self._trie_stale = True
                if before + delta == 0:
                    del self._path_refs[path]

    def matching(self, event: dict[str, Any] | str | bytes) -> set[Hashable]:
        """Ids of the rules the event matches; str/bytes are decoded as JSON (InvalidEvent if not)."""
        decoded = decode_event(event)
        if self._trie_stale:
            self._trie = build_trie(self._path_refs)
            self._trie_stale = False
        values, arrays_matter = collect(decoded, self._trie, self._repeated_paths > 0)
        if arrays_matter:
            return self._matching_with_arrays(decoded)
        result: set[Hashable] = set()
        stack = [self._root]
        pop = stack.pop
        push = stack.extend
        get = values.get
        while stack:
            node = pop()
            if node.rules:
                result.update(node.rules)
            for path, match in node.plan:
                hits = match(get(path))
                if hits:
                    push(set(hits) if len(hits) > 1 else hits)
        return result

    def _matching_with_arrays(self, decoded: dict[str, Any]) -> set[Hashable]:
        """The walk with the array rule: a state is a node plus the array elements used so far."""
        values = collect_with_context(decoded, self._trie)
        result: set[Hashable] = set()
        stack: list[tuple[_Node, tuple[Context, ...]]] = [(self._root, ())]
        seen: set[tuple[int, tuple[Context, ...]]] = set()
        while stack:
            node, chosen = stack.pop()
            if node.rules:
                result.update(node.rules)
            for path, index in node.paths.items():
                present = values.get(path)
                if not present:
                    reached = [(child, chosen) for child in index.match(None)]
                else:
                    reached = []
                    for value, ctx in present:
                        if not compatible_with_all(ctx, chosen):
                            continue
                        extended = chosen if not ctx or ctx in chosen else (*chosen, ctx)
                        reached.extend((child, extended) for child in index.match([value]))
                for child, state in reached:
                    key = (id(child), state)
                    if key not in seen:
                        seen.add(key)
                        stack.append((child, state))
        return result
