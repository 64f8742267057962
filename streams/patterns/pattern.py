"""A single compiled pattern, evaluated directly (one rule at a time).

This is the reference evaluator: simple, per branch and per condition, with the array rule
applied by explicit search. RuleSet gets the same answers through a shared index, and the
property tests compare the two.
"""

from __future__ import annotations

from typing import Any

from .compiler import Branch, compile_branches
from .complexity import check_complexity
from .consistency import Option, consistent_choice, ruler_key
from .errors import InvalidEventPattern
from .flatten import Context, build_trie, collect_with_context, decode_event


class EventPattern:
    """A validated, compiled event pattern."""

    __slots__ = ("branches", "source", "_trie")

    def __init__(self, branches: tuple[Branch, ...], source: object) -> None:
        self.branches = branches
        self.source = source
        self._trie = build_trie({c.path for b in branches for c in b})

    def matches(self, event: dict[str, Any] | str | bytes) -> bool:
        """Whether the event matches; str/bytes events are decoded as JSON (InvalidEvent if not)."""
        values = collect_with_context(decode_event(event), self._trie)
        return any(_branch_matches(branch, values) for branch in self.branches)

    def __repr__(self) -> str:
        return f"EventPattern({self.source!r})"


def _branch_matches(branch: Branch, values: dict[Any, list[tuple[Any, Context]]]) -> bool:
    options: list[list[Option]] = []
    for condition in branch:
        present = values.get(condition.path)
        if not present:
            if condition.accepts_absent:
                continue
            return False
        key = ruler_key(condition.path)
        matched = {ctx for value, ctx in present if any(p.test(value) for p in condition.predicates)}
        found: list[Option] = [(ctx, key, ()) for ctx in matched]
        if condition.accepts_absent:
            found.append((None, key, tuple(ctx for _value, ctx in present)))
        if not found:
            return False
        options.append(found)
    return consistent_choice(options)


def compile_pattern(pattern: str | dict[str, Any]) -> EventPattern:
    """Validate and compile; raises InvalidEventPattern (and nothing else) for bad input."""
    if isinstance(pattern, EventPattern):
        return pattern
    try:
        branches = compile_branches(pattern)
        check_complexity(branches)
        return EventPattern(branches, pattern)
    except InvalidEventPattern:
        raise
    except RecursionError:
        raise InvalidEventPattern("$", "event pattern is nested too deeply") from None
