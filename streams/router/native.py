"""The router's native fast path: a bus's rules handed to busbar_native (Rust, in native/).

One `EnvelopeMatcher.route(raw)` call per bus record parses the record, checks that it is a
plainly valid envelope and returns the rules it matches, without building a Python dict of
the event: in Python, decoding, validating and matching were about two thirds of the
router's CPU per event. The Python pattern engine stays the reference and the fallback.
Rules are compiled and validated there, and handed over here already compiled. A record
the native side cannot decide exactly as Python would (invalid, or needing Unicode case
folding, CIDR parsing, big-number comparison or the array rule) comes back as None and takes
the Python path, so the two can differ in speed only, never in outcome
(tests/test_native_matcher.py holds them equal).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from busbar_native import EnvelopeMatcher

from streams.envelope import FIELDS, MAX_EVENT_BYTES
from streams.patterns import EventPattern
from streams.patterns import predicates as pr
from streams.patterns.compiler import Condition
from streams.patterns.numeric import MAX_NUMBER, MIN_NUMBER, SCALE

__all__ = ["EnvelopeMatcher", "build_matcher"]


def build_matcher(rules: Iterable[tuple[Hashable, EventPattern]]) -> EnvelopeMatcher:
    """A native matcher for these rules; `route` hands back the rule ids given here.

    Built whole on every change of the bus's rules: 1,000 rules take a few milliseconds,
    and the router rebuilds at most once per batch, however many changes arrived.
    """
    paths: dict[tuple[str, ...], int] = {}
    conditions: dict[Condition, int] = {}
    encoded: list[tuple[int, list[tuple[Any, ...]]]] = []
    branches: list[tuple[int, list[int]]] = []
    ids: list[Hashable] = []
    strict = False
    for rule_id, pattern in rules:
        number = len(ids)
        ids.append(rule_id)
        for branch in pattern.branches:
            strict = strict or len({c.path for c in branch}) < len(branch)
            numbers = []
            for condition in branch:
                found = conditions.get(condition)
                if found is None:
                    found = conditions[condition] = len(encoded)
                    slot = paths.setdefault(condition.path, len(paths))
                    encoded.append((slot, [encode_predicate(p) for p in condition.predicates]))
                numbers.append(found)
            branches.append((number, numbers))
    return EnvelopeMatcher([list(path) for path in paths], encoded, branches, ids, strict, MAX_EVENT_BYTES,
                           list(FIELDS), (MIN_NUMBER, MAX_NUMBER, SCALE))


def encode_predicate(p: pr.Predicate) -> tuple[Any, ...]:
    """The predicate as native/src/lib.rs `decode_pred` reads it."""
    t = type(p)
    if t is pr.ExactString:
        return ("str", p.value)  # type: ignore[attr-defined]
    if t is pr.ExactNumber:
        key = p.key  # type: ignore[attr-defined]
        return ("num", key) if type(key) is int else ("bignum",)
    if t is pr.ExactLiteral:
        return ("lit", p.value)  # type: ignore[attr-defined]
    if t is pr.Prefix or t is pr.Suffix:
        return ("prefix" if t is pr.Prefix else "suffix", p.text, p.ignore_case)  # type: ignore[attr-defined]
    if t is pr.EqualsIgnoreCase:
        return ("ignore-case", p.text)  # type: ignore[attr-defined]
    if t is pr.Wildcard:
        return ("wildcard", list(p.segments))  # type: ignore[attr-defined]
    if t is pr.NumericRange:
        return ("range", p.low, p.high)  # type: ignore[attr-defined]
    if t is pr.Cidr:
        return ("cidr",)
    if t is pr.Exists:
        return ("exists",)
    if t is pr.Absent:
        return ("absent",)
    if t is pr.AnythingBut:
        return ("anything-but", [encode_predicate(x) for x in p.excluded])  # type: ignore[attr-defined]
    raise TypeError(f"no native form for predicate {p!r}")
