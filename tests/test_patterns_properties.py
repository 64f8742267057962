"""Property tests: the indexed RuleSet agrees with one-pattern-at-a-time matching, and any
garbage given as a pattern only ever raises InvalidEventPattern."""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.patterns import InvalidEventPattern, RuleSet, compile_pattern

WORDS = ["a", "ab", "abc", "B", "b.png", "x*y", "10.0.0.5", "10.1.2.3", "::1", ""]
NUMBERS = [0, 1, 1.5, 2, 3.0, -1, 100, 5e9, 6e9]
FIELDS = ["source", "detail-type", "k", "n"]

scalar = st.one_of(st.sampled_from(WORDS), st.sampled_from(NUMBERS), st.sampled_from([True, False, None]))
words = st.sampled_from(WORDS)
nonempty_words = st.sampled_from([w for w in WORDS if w])
wildcards = st.sampled_from(["a*", "*c", "a*c", "*", "x\\*y", "*.png", "1*.*"])
numbers_in_range = st.sampled_from([n for n in NUMBERS if abs(n) <= 5e9])

operator = st.one_of(
    st.builds(lambda w: {"prefix": w}, words),
    st.builds(lambda w: {"suffix": w}, words),
    st.builds(lambda w: {"prefix": {"equals-ignore-case": w}}, words),
    st.builds(lambda w: {"suffix": {"equals-ignore-case": w}}, words),
    st.builds(lambda w: {"equals-ignore-case": w}, words),
    st.builds(lambda w: {"wildcard": w}, wildcards),
    st.builds(lambda w: {"anything-but": w}, st.one_of(words, numbers_in_range)),
    st.builds(lambda ws: {"anything-but": ws}, st.lists(words, min_size=1, max_size=3)),
    st.builds(lambda ns: {"anything-but": ns}, st.lists(numbers_in_range, min_size=1, max_size=3)),
    st.builds(lambda w: {"anything-but": {"prefix": w}}, nonempty_words),
    st.builds(lambda w: {"anything-but": {"suffix": w}}, nonempty_words),
    st.builds(lambda w: {"anything-but": {"equals-ignore-case": w}}, words),
    st.builds(lambda w: {"anything-but": {"wildcard": [w]}}, wildcards),
    st.builds(lambda op, n: {"numeric": [op, n]}, st.sampled_from(["=", "<", "<=", ">", ">="]), numbers_in_range),
    st.builds(lambda lo, hi: {"numeric": [">=", lo, "<", lo + hi]}, st.sampled_from([-1, 0, 1, 2]), st.sampled_from([0.5, 1, 2])),
    st.builds(lambda c: {"cidr": c}, st.sampled_from(["10.0.0.0/8", "10.1.0.0/16", "::/0", "10.0.0.5/32"])),
    st.builds(lambda b: {"exists": b}, st.booleans()),
)
leaf = st.lists(st.one_of(scalar, operator), min_size=1, max_size=3)


# Keys with dots name nested paths ("items.k" is items, then k) on both sides.
DOTTED = ["items.k", "detail.items"]


def _pattern(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    fields = st.dictionaries(st.sampled_from(FIELDS + ["detail", "items", *DOTTED]), children, min_size=1, max_size=2)
    with_or = st.builds(lambda d, alts: {**d, "$or": alts}, fields, st.lists(fields, min_size=2, max_size=2))
    return st.one_of(fields, fields, with_or)


patterns = st.recursive(leaf, _pattern, max_leaves=6).filter(lambda p: isinstance(p, dict))


def _event(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.dictionaries(st.sampled_from(FIELDS + ["detail", "items", *DOTTED]), children, min_size=2, max_size=6),
        st.lists(children, min_size=1, max_size=3),
    )


# Dense events over the patterns' vocabulary, so that a good share of pairs match.
event_values = st.recursive(scalar, _event, max_leaves=12)
events = st.dictionaries(st.sampled_from(FIELDS + ["detail", "items"]), event_values, min_size=3, max_size=6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.lists(patterns, min_size=1, max_size=8),
    samples=st.lists(events, min_size=1, max_size=6),
    removals=st.lists(st.integers(min_value=0, max_value=7), max_size=4),
)
def test_ruleset_agrees_with_single_patterns(
    rules: list[dict[str, Any]], samples: list[dict[str, Any]], removals: list[int]
) -> None:
    ruleset = RuleSet()
    active: dict[int, Any] = {}
    for i, pattern in enumerate(rules):
        ruleset.add(i, pattern)
        active[i] = compile_pattern(pattern)

    def check() -> None:
        for event in samples:
            expected = {i for i, p in active.items() if p.matches(event)}
            assert ruleset.matching(orjson.dumps(event)) == expected, (event, rules)

    check()
    for r in removals:
        if r in active:
            ruleset.remove(r)
            del active[r]
    check()
    for i, pattern in enumerate(rules[:2]):
        ruleset.add(i, pattern)
        active[i] = compile_pattern(pattern)
    check()


garbage_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["prefix", "numeric", ">", "<=", "=", "*", "a**", "\\", "10.0.0.0/8", "::/200", "$or"]),
)
KEYS = st.one_of(
    st.sampled_from(
        ["$or", "prefix", "suffix", "numeric", "exists", "cidr", "wildcard", "anything-but", "equals-ignore-case", "a", "b"]
    ),
    st.text(max_size=4),
)
garbage = st.recursive(
    garbage_scalar,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(KEYS, children, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=1000, deadline=None)
@given(pattern=garbage)
def test_garbage_patterns_only_raise_invalid_event_pattern(pattern: Any) -> None:
    for candidate in (pattern, _dump(pattern)):
        try:
            compiled = compile_pattern(candidate)
        except InvalidEventPattern:
            continue
        compiled.matches({"a": 1})
        RuleSet().add("r", compiled)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_garbage_text_only_raises_invalid_event_pattern(text: str) -> None:
    with contextlib.suppress(InvalidEventPattern):
        compile_pattern(text)


def _dump(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return "{"
