"""Many rules compiled into one index, so per-event work follows the event, not the rule count.

The index is a trie of conditions (event-ruler's state machine, in spirit). Each rule branch
is a sequence of conditions in a canonical order (Condition.order: selective exact fields
such as source and detail-type first), and branches that start alike share trie nodes. An
event walks the trie from the root: at each reached node, each path leaving it costs one
PathIndex lookup, which returns the children whose condition holds. Rule ids stored at
reached nodes match. Rules that share no prefix with the event's routing fields are never
touched, so 10,000 rules cost about what 100 do.

Event values are read once per event by a function generated for the set of used paths
(flatten.build_extractor) into a small dict keyed by slot number, a small int each used
path keeps for as long as some rule uses it. Trie nodes refer to paths by slot, and keep
exact-string transitions as the plain dict the walk looks values up in. Where at most a
few branches remain below a node, the walk tests their remaining conditions directly
(_Node.tails) rather than visiting the rest of the subtree.

Adding or removing a rule touches only its own trie path; the used-path trie and extractor
are rebuilt lazily, and only when the set of distinct paths changes.

The array rule (values from different elements of one array never match together) is only
relevant when an event has objects inside arrays under several used paths; such events take
a slower walk that carries, per reached node, the array elements committed to so far.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, ItemsView, Iterable
from typing import Any

from .compiler import Branch, Condition
from .consistency import Choice, absent_under, compatible_with_all, ruler_key
from .flatten import (
    NO_VALUE,
    Path,
    SlotValues,
    build_extractor,
    build_trie,
    collect,
    collect_with_context,
    decode_event,
)
from .index import ExactTable, PathIndex, exact_hits
from .pattern import EventPattern, compile_pattern
from .predicates import ExactString, Predicate


class _Node:
    """A trie state: conditions leaving it, grouped by path, and the rules that end here.

    What matching reads is laid out, after each change, so a visit touches as few objects
    as possible (at 10,000 rules the walk's cost is mostly cache misses): the first path
    with only exact-string conditions sits in the node itself as `slot` and `table` (the
    index's exact_str, looked up by the walk directly); the other paths are in `plan` as
    (slot, exact-string table or None, matcher).

    Below a node few branches pass through (refs <= _MAX_TAILS) the walk checks each of
    those branches' remaining conditions directly (`tails`: (rule id, checks) per branch,
    built on first use, dropped by any change below the node) instead of visiting nodes and
    their indexes: in a big rule set most walks end in such thin subtrees, and a few small
    tuples are far cheaper to reach (in cache misses) and to test than the nodes would be.
    """

    __slots__ = ("paths", "edges", "rules", "refs", "slot", "table", "plan", "tails")

    def __init__(self) -> None:
        self.paths: dict[Path, PathIndex] = {}
        self.edges: dict[Condition, _Node] = {}
        self.rules: Counter[Hashable] = _NO_RULES
        self.refs = 0
        self.slot = -1
        self.table: ExactTable | None = None
        self.plan: tuple[tuple[int, ExactTable | None, Any], ...] = ()
        self.tails: tuple[_Tail, ...] | None = None

    def build_tails(self, slots: dict[Path, int]) -> tuple[_Tail, ...]:
        """(rule id, checks) for every branch below this node, in depth-first order."""
        tails: list[_Tail] = []
        pending: list[tuple[_Node, tuple[_Check, ...]]] = [(self, ())]
        while pending:
            node, checks = pending.pop()
            tails.extend((rule_id, checks) for rule_id in node.rules)
            for condition, child in node.edges.items():
                pending.append((child, (*checks, _check(condition, slots))))
        return tuple(tails)

    def replan(self, slots: dict[Path, int]) -> None:
        self.slot, self.table = -1, None
        plan = []
        for path, index in self.paths.items():
            if self.table is None and index.exact_only:
                self.slot, self.table = slots[path], index.exact_str
            else:
                plan.append((slots[path], index.exact_str if index.exact_only else None, index.match))
        self.plan = tuple(plan)


_NO_RULES: Counter[Hashable] = Counter()
# A tail check: slot, the accepted strings when the condition is exact strings only (a set
# test instead of predicate calls), the test of one leaf value, and whether absence
# satisfies the condition.
_Check = tuple[int, frozenset[str] | None, Callable[[Any], bool], bool]
_Tail = tuple[Hashable, tuple[_Check, ...]]
# Up to this many branches below a node, checking each directly beats walking the subtree.
_MAX_TAILS = 4


def _check(condition: Condition, slots: dict[Path, int]) -> _Check:
    predicates = condition.predicates
    strings = None
    if all(type(p) is ExactString for p in predicates):
        strings = frozenset(p.value for p in predicates)  # type: ignore[attr-defined]
    test = predicates[0].test if len(predicates) == 1 else _AnyOf(predicates).test
    return slots[condition.path], strings, test, condition.accepts_absent


class RuleSet:
    """A mutable set of named event patterns, matched together."""

    def __init__(self) -> None:
        self._root = _Node()
        self._patterns: dict[Hashable, EventPattern] = {}
        self._path_refs: Counter[Path] = Counter()
        # Slot numbers stay fixed while a path is in use, so node plans never need redoing
        # when other paths come and go; freed numbers are reused to keep them small.
        self._slots: dict[Path, int] = {}
        self._free_slots: list[int] = []
        self._trie = build_trie(())
        self._extract = build_extractor(self._trie, self._slots)
        self._trie_stale = False
        # Branches naming one path twice make the array rule apply even to a single path.
        self._repeated_paths = 0

    def __len__(self) -> int:
        return len(self._patterns)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._patterns

    def items(self) -> ItemsView[Hashable, EventPattern]:
        """Each rule id with its compiled pattern, so other matchers can be built from the same rules."""
        return self._patterns.items()

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
        self._count_paths(branch, 1)  # first, so new paths have slots for replan()
        slots = self._slots
        node = self._root
        node.refs += 1
        node.tails = None
        for condition in branch:
            child = node.edges.get(condition)
            if child is None:
                child = node.edges[condition] = _Node()
                index = node.paths.get(condition.path)
                if index is None:
                    index = node.paths[condition.path] = PathIndex()
                index.add(condition.predicates, child)
                node.replan(slots)
            child.refs += 1
            child.tails = None
            node = child
        if node.rules is _NO_RULES:
            node.rules = Counter()
        node.rules[rule_id] += 1

    def _delete(self, rule_id: Hashable, branch: Branch) -> None:
        slots = self._slots
        node = self._root
        node.refs -= 1
        node.tails = None
        for condition in branch:
            child = node.edges[condition]
            child.refs -= 1
            child.tails = None
            if child.refs == 0:
                del node.edges[condition]
                index = node.paths[condition.path]
                index.remove(condition.predicates, child)
                if index.size == 0:
                    del node.paths[condition.path]
                node.replan(slots)
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
            if before == 0:
                self._slots[path] = self._free_slots.pop() if self._free_slots else len(self._slots)
                self._trie_stale = True
            elif before + delta == 0:
                del self._path_refs[path]
                self._free_slots.append(self._slots.pop(path))
                self._trie_stale = True

    def matching(self, event: dict[str, Any] | str | bytes) -> set[Hashable]:
        """Ids of the rules the event matches; str/bytes are decoded as JSON (InvalidEvent if not)."""
        decoded = decode_event(event)
        if self._trie_stale:
            self._trie = build_trie(self._path_refs)
            self._extract = build_extractor(self._trie, self._slots)
            self._trie_stale = False
        values = None if self._extract is None else self._extract(decoded)
        if values is None:
            by_path, arrays_matter = collect(decoded, self._trie, self._repeated_paths > 0)
            if arrays_matter:
                return self._matching_with_arrays(decoded)
            slots = self._slots
            values = {slots[path]: leaves for path, leaves in by_path.items()}
        return self._walk(values)

    def matching_among(self, event: dict[str, Any] | str | bytes, rule_ids: Iterable[Hashable]) -> list[Hashable]:
        """Those of the given rules the event matches, each tested on its own pattern.

        For the few rules the router's native matcher leaves to Python on an event: testing
        them alone costs less than matching the whole rule set again.
        """
        decoded = decode_event(event)
        return [rule_id for rule_id in rule_ids if self._patterns[rule_id].matches(decoded)]

    def _walk(self, values: SlotValues) -> set[Hashable]:
        """Every rule whose trie path the event's values lead to (the array rule not applying)."""
        result: set[Hashable] = set()
        stack = [self._root]
        pop = stack.pop
        push = stack.extend
        append = stack.append
        get = values.get
        missing = NO_VALUE
        slots = self._slots
        max_tails = _MAX_TAILS
        while stack:
            node = pop()
            tails = node.tails
            if tails is None and node.refs <= max_tails:
                tails = node.tails = node.build_tails(slots)
            if tails is not None:
                for rule_id, checks in tails:
                    for slot, strings, test, absent_ok in checks:
                        value = get(slot, missing)
                        if value is missing:
                            if absent_ok:
                                continue
                            break
                        if value.__class__ is not list:
                            if not (value in strings if strings is not None else test(value)):
                                break
                        elif not any(map(test, value)):
                            break
                    else:
                        result.add(rule_id)
                continue
            if node.rules:
                result.update(node.rules)
            table = node.table
            if table is not None:
                value = get(node.slot, missing)
                if value.__class__ is not list:
                    # One value, exact strings only: one lookup, and no child twice.
                    hit = table.get(value)
                    if hit is not None:
                        if hit.__class__ is tuple:
                            push(hit)
                        else:
                            append(hit)
                else:
                    push(set(exact_hits(table, value)))
            for slot, exact, match in node.plan:
                value = get(slot, missing)
                if exact is not None and value.__class__ is not list:
                    hit = exact.get(value)
                    if hit is not None:
                        if hit.__class__ is tuple:
                            push(hit)
                        else:
                            append(hit)
                else:
                    hits = match(value)
                    if hits:
                        push(set(hits) if len(hits) > 1 else hits)
        return result

    def _matching_with_arrays(self, decoded: dict[str, Any]) -> set[Hashable]:
        """The walk with the array rule: a state is a node plus the array elements used so far.

        Each element used is kept with the ruler_key of the field that used it, because a
        field that must not exist is judged against the fields sorted before it only
        (consistency.py). Conditions satisfied by absence come last in a branch, in that same
        order (Condition.order), so those fields have all been matched when it is judged.
        """
        values = collect_with_context(decoded, self._trie)
        result: set[Hashable] = set()
        stack: list[tuple[_Node, tuple[Choice, ...]]] = [(self._root, ())]
        seen: set[tuple[int, tuple[Choice, ...]]] = set()
        while stack:
            node, chosen = stack.pop()
            if node.rules:
                result.update(node.rules)
            for path, index in node.paths.items():
                present = values.get(path)
                if not present:
                    reached = [(child, chosen) for child in index.match(NO_VALUE)]
                else:
                    key = ruler_key(path)
                    reached = []
                    if index.absent and absent_under(key, (ctx for _value, ctx in present), chosen):
                        reached.extend((child, chosen) for child in index.absent)
                    for value, ctx in present:
                        if not compatible_with_all(ctx, chosen):
                            continue
                        extended = chosen if not ctx or (key, ctx) in chosen else (*chosen, (key, ctx))
                        reached.extend((child, extended) for child in index.match(value))
                for child, state in reached:
                    state_key = (id(child), state)
                    if state_key not in seen:
                        seen.add(state_key)
                        stack.append((child, state))
        return result


class _AnyOf:
    """A condition listing several predicates holds for a value if one of them does."""

    __slots__ = ("predicates",)

    def __init__(self, predicates: tuple[Predicate, ...]) -> None:
        self.predicates = predicates

    def test(self, value: Any) -> bool:
        return any(p.test(value) for p in self.predicates)
