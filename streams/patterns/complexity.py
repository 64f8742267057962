"""EventBridge's refusal of wildcard patterns too costly to match, as event-ruler decides it.

event-ruler (the matcher behind EventBridge) compiles a rule into name states, one value
machine per field at each state, and its MachineComplexityEvaluator scores each machine by
the most wildcard-pattern prefixes that one input value can keep alive at once: reading
"aaaa", the pattern "a*aaa" is alive as "a*", "a*a", "a*aa" and "a*aaa". Patterns on the same
field at the same state share a machine, so wildcards under `$or` alternatives add up. A
machine reached only through `exists: false` is not scored, as in event-ruler. A rule scoring
more than COMPLEXITY_LIMIT is refused with AWS's message.

The score is computed here on the patterns themselves: each wildcard value is its UTF-8
bytes inside the JSON quotes event-ruler matches on, `*` is a state looping on every byte and
entered without input, and a breadth-first walk over the sets of states that some input
reaches keeps the largest set. The walk stops as soon as the limit is passed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from functools import lru_cache

from .compiler import Branch
from .consistency import ruler_key
from .errors import InvalidEventPattern
from .flatten import Path
from .predicates import Absent, Predicate, Wildcard

# EventBridge's limit: rules whose score passes it are refused. AWS does not publish it; 10
# fits what it refuses in practice (four "*:stack/<name>/*" alternatives on one field score
# 11 and are refused, three score 8 and are accepted).
COMPLEXITY_LIMIT = 10
TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)

STAR = -1  # the `*` token; literal tokens are byte values
QUOTE = ord('"')
Tokens = tuple[int, ...]
State = tuple[int, int]  # (pattern number, tokens consumed)


class _NameState:
    """event-ruler's NameState: one value machine per field name."""

    __slots__ = ("machines",)

    def __init__(self) -> None:
        self.machines: dict[Path, _Machine] = {}


class _Machine:
    """A field's value machine: where each pattern leads, and its wildcard values."""

    __slots__ = ("next", "by_value", "wildcards")

    def __init__(self) -> None:
        self.next: dict[Hashable, _NameState] = {}
        # States reached by matching a value (not by absence): only those are scored further.
        self.by_value: set[_NameState] = set()
        self.wildcards: set[Tokens] = set()


def check_complexity(branches: Iterable[Branch]) -> None:
    """Raise InvalidEventPattern (AWS's message, no path) when the rule is too complex."""
    branches = tuple(branches)
    if not any(type(p) is Wildcard for branch in branches for c in branch for p in c.predicates):
        return
    root = _NameState()
    for branch in branches:
        _add(root, branch)
    pending, seen = [root], set()
    while pending:
        state = pending.pop()
        if id(state) in seen:
            continue
        seen.add(id(state))
        for machine in state.machines.values():
            if machine.wildcards and machine_complexity(frozenset(machine.wildcards)) > COMPLEXITY_LIMIT:
                raise InvalidEventPattern("", TOO_COMPLEX)
            pending.extend(machine.by_value)


def _add(root: _NameState, branch: Branch) -> None:
    """One `$or` alternative added as event-ruler's addRule does: fields in sorted name order."""
    fields: dict[Path, list[Predicate]] = {}
    for condition in branch:
        fields.setdefault(condition.path, []).extend(condition.predicates)
    states = {root}
    for path in sorted(fields, key=ruler_key):
        reached: set[_NameState] = set()
        for state in states:
            machine = state.machines.setdefault(path, _Machine())
            # A field's values lead to one new state unless a value already has one.
            last: _NameState | None = None
            for predicate in fields[path]:
                found = machine.next.get(predicate)
                if found is None:
                    found = last if last is not None else _NameState()
                    machine.next[predicate] = found
                last = found
                reached.add(found)
                if type(predicate) is not Absent:
                    machine.by_value.add(found)
                if type(predicate) is Wildcard:
                    machine.wildcards.add(_tokens(predicate.segments))  # type: ignore[attr-defined]
        states = reached


def _tokens(segments: tuple[str, ...]) -> Tokens:
    """The quoted value as event-ruler reads it: bytes, with STAR between the literal segments."""
    out = [QUOTE]
    for i, segment in enumerate(segments):
        if i:
            out.append(STAR)
        out.extend(segment.encode("utf-8", "surrogatepass"))
    out.append(QUOTE)
    return tuple(out)


@lru_cache(maxsize=1024)
def machine_complexity(patterns: frozenset[Tokens], limit: int = COMPLEXITY_LIMIT) -> int:
    """The most pattern prefixes one input keeps alive at once, or a number past `limit`."""
    ordered = sorted(patterns)
    alphabet = sorted({t for tokens in ordered for t in tokens if t != STAR}) + [None]
    start = _closure(ordered, {(i, 0) for i in range(len(ordered))})
    best = 0
    seen = {start}
    queue = [start]
    while queue:
        current = queue.pop()
        for byte in alphabet:
            following = _step(ordered, current, byte)
            if not following or following in seen:
                continue
            size = len(following)
            if size > limit:
                return size
            best = max(best, size)
            seen.add(following)
            queue.append(following)
    return best


def _step(patterns: list[Tokens], states: frozenset[State], byte: int | None) -> frozenset[State]:
    moved = set()
    for i, at in states:
        tokens = patterns[i]
        if at and tokens[at - 1] == STAR:
            moved.add((i, at))
        if byte is not None and at < len(tokens) and tokens[at] == byte:
            moved.add((i, at + 1))
    return _closure(patterns, moved)


def _closure(patterns: list[Tokens], states: set[State]) -> frozenset[State]:
    """A `*` matches the empty string too: the state before it is also the state after it."""
    for i, at in list(states):
        tokens = patterns[i]
        if at < len(tokens) and tokens[at] == STAR:
            states.add((i, at + 1))
    return frozenset(states)
