"""Dots in keys: EventBridge names a field by its keys joined with dots, in patterns and events.

So a pattern key "state.status" matches the nested event field, a nested pattern matches the
event key "state.status", and the two spellings mix at any depth. The single-pattern matcher
and the rule set must give the same answers (the property tests hold them equal in general;
these pin the behaviour itself).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.patterns import RuleSet, compile_pattern

NESTED = {"detail": {"state": {"status": "running"}}}
DOTTED = {"detail": {"state.status": "running"}}

CASES = [
    ("dotted pattern, nested event", {"detail": {"state.status": ["running"]}}, NESTED, True),
    ("nested pattern, dotted event", {"detail": {"state": {"status": ["running"]}}}, DOTTED, True),
    ("dotted pattern, dotted event", {"detail": {"state.status": ["running"]}}, DOTTED, True),
    ("dots across levels", {"detail.state": {"status": ["running"]}}, DOTTED, True),
    ("dotted event key, other value", {"detail": {"state": {"status": ["running"]}}},
     {"detail": {"state.status": "stopped"}}, False),
    ("dotted key above an object", {"detail": {"a": {"b": {"c": [1]}}}}, {"detail": {"a.b": {"c": 1}}}, True),
    ("dotted key above an array of objects", {"detail": {"a": {"b": {"c": [1]}}}},
     {"detail": {"a.b": [{"c": 0}, {"c": 1}]}}, True),
    ("a dotted key counts as present", {"detail": {"a": {"b": [{"exists": False}]}}}, {"detail": {"a.b": 1}}, False),
    ("exists through a dotted key", {"detail": {"a.b": [{"exists": True}]}}, {"detail": {"a": {"b": None}}}, True),
    ("both spellings give values", {"detail": {"a.b": [2]}}, {"detail": {"a": {"b": 1}, "a.b": 2}}, True),
    ("a dotted key deeper than the path", {"detail": {"a": [1]}}, {"detail": {"a.b": 1}}, False),
    ("empty parts are parts", {"detail": {"a..b": [1]}}, {"detail": {"a": {"": {"b": 1}}}}, True),
    ("array rule with dotted pattern keys", {"detail": {"items.a": [1], "items.b": [2]}},
     {"detail": {"items": [{"a": 1}, {"b": 2}]}}, False),
    ("array rule, one element, dotted pattern keys", {"detail": {"items.a": [1], "items.b": [2]}},
     {"detail": {"items": [{"a": 1, "b": 2}]}}, True),
]


@pytest.mark.parametrize(("why", "pattern", "event", "expected"), CASES, ids=[c[0] for c in CASES])
def test_dotted_keys_name_nested_paths(why: str, pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert compile_pattern(pattern).matches(event) is expected, why
    ruleset = RuleSet()
    ruleset.add("r", pattern)
    # A rule on another path keeps the rule set's used-path trie from being a single path.
    ruleset.add("other", {"source": ["elsewhere"], "detail": {"x": {"y": [1]}}})
    assert (ruleset.matching(orjson.dumps(event)) == {"r"}) is expected, why
    assert (ruleset.matching(event) == {"r"}) is expected, why


def test_dotted_keys_take_the_generic_walk_when_the_trie_is_too_big_to_generate() -> None:
    ruleset = RuleSet()
    for i in range(40):  # more keys under detail than the generated extractor handles
        ruleset.add(i, {"detail": {f"k{i}": {"v": [i]}}})
    assert ruleset.matching({"detail": {"k7.v": 7, "k8": {"v": 8}}}) == {7, 8}
