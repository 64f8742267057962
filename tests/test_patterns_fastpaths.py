"""RuleSet's fast paths against the reference evaluator (EventPattern.matches).

The rule set reads events through a generated extractor (or, for very wide or deep used-path
tries, through the generic walk), keeps exact-string transitions as plain dict entries, and
checks single-rule chains directly ("tails"). Each case here aims at one of those paths,
including the changes (adds, removes, slot reuse) that must keep them up to date.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.patterns import RuleSet, compile_pattern


def _expected(rules: dict[str, Any], event: dict[str, Any]) -> set[str]:
    return {rule_id for rule_id, pattern in rules.items() if compile_pattern(pattern).matches(event)}


def _check(ruleset: RuleSet, rules: dict[str, Any], events: list[dict[str, Any]]) -> None:
    for event in events:
        expected = _expected(rules, event)
        assert ruleset.matching(event) == expected, event
        assert ruleset.matching(orjson.dumps(event)) == expected, event


def _ruleset(rules: dict[str, Any]) -> RuleSet:
    ruleset = RuleSet()
    for rule_id, pattern in rules.items():
        ruleset.add(rule_id, pattern)
    return ruleset


def test_path_used_both_as_leaf_and_as_object() -> None:
    rules = {
        "leaf": {"a": ["v", 1, None]},
        "inner": {"a": {"b": ["w"]}},
        "exists": {"a": [{"exists": True}], "c": ["z"]},
        "absent": {"a": [{"exists": False}], "c": ["z"]},
    }
    events = [
        {"a": "v", "c": "z"},
        {"a": {"b": "w"}, "c": "z"},
        {"a": None, "c": "z"},
        {"a": [], "c": "z"},
        {"a": [["v"], 1], "c": "z"},
        {"a": ["v", {"b": "w"}], "c": "z"},
        {"a": [{"b": ["x", "w"]}], "c": "z"},
        {"a": {"b": {"c": "w"}}, "c": "z"},
        {"a": True, "c": "z"},
        {"c": "z"},
    ]
    _check(_ruleset(rules), rules, events)


def test_array_of_objects_still_applies_the_array_rule() -> None:
    rules = {"pair": {"items": {"sku": ["a"], "qty": [2]}}, "one": {"items": {"sku": ["a"]}, "n": [1]}}
    events = [
        {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}], "n": 1},
        {"items": [{"sku": "a", "qty": 2}], "n": 2},
        {"items": {"sku": ["a", "b"], "qty": 2}, "n": 1},
    ]
    _check(_ruleset(rules), rules, events)


@pytest.mark.parametrize("count", [40, 600])
def test_wide_used_path_trie_takes_the_generic_walk(count: int) -> None:
    rules = {f"r{i}": {"detail": {f"f{i}": [f"v{i}", {"prefix": "p"}]}} for i in range(count)}
    events = [
        {"detail": {"f3": "v3", "f7": "pq", "f9": "no", "other": "v3"}},
        {"detail": {"f1": ["x", "v1"], "f39": "v39"}},
        {"detail": "flat"},
    ]
    _check(_ruleset(rules), rules, events)


def test_deep_used_path_trie_takes_the_generic_walk() -> None:
    deep: dict[str, Any] = {"leaf": ["x"]}
    event: dict[str, Any] = {"leaf": "x"}
    for level in range(20):
        deep = {f"k{level}": deep}
        event = {f"k{level}": event}
    rules = {"deep": deep, "shallow": {"k19": {"leaf": [{"exists": False}]}}}
    _check(_ruleset(rules), rules, [event, {"k19": {}}])


def test_tails_follow_adds_and_removes() -> None:
    base = {"source": ["s"], "detail": {"n": [{"numeric": [">", 5]}], "t": ["x", "y"]}}
    other = {"source": ["s"], "detail": {"n": [{"numeric": [">", 5]}], "t": ["z"]}}
    absent = {"source": ["s"], "detail": {"gone": [{"exists": False}]}}
    events = [
        {"source": "s", "detail": {"n": 6, "t": "x"}},
        {"source": "s", "detail": {"n": 6, "t": ["q", "z"]}},
        {"source": "s", "detail": {"n": [1, 9], "t": "y"}},
        {"source": "s", "detail": {"n": 5, "t": "x", "gone": 1}},
    ]
    ruleset = RuleSet()
    rules: dict[str, Any] = {}
    for rule_id, pattern in (("base", base), ("other", other), ("absent", absent)):
        ruleset.add(rule_id, pattern)
        rules[rule_id] = pattern
        _check(ruleset, rules, events)
    for rule_id in ("other", "base"):
        ruleset.remove(rule_id)
        del rules[rule_id]
        _check(ruleset, rules, events)
    ruleset.add("base", base)
    rules["base"] = base
    _check(ruleset, rules, events)


def test_one_exact_value_leading_to_several_children() -> None:
    rules = {
        "ab": {"k": ["a", "b"], "m": ["1"]},
        "ac": {"k": ["a", "c"], "m": ["1"]},
        "a": {"k": ["a"], "m": ["1"]},
        "ab2": {"k": ["a", "b"], "m": ["2"]},
    }
    events = [{"k": "a", "m": "1"}, {"k": ["b", "c"], "m": ["1", "2"]}, {"k": "b", "m": "2"}]
    ruleset = _ruleset(rules)
    _check(ruleset, rules, events)
    for rule_id in ("ac", "a"):
        ruleset.remove(rule_id)
        del rules[rule_id]
        _check(ruleset, rules, events)


def test_freed_paths_are_reused_for_new_ones() -> None:
    ruleset = RuleSet()
    ruleset.add("old", {"p": {"q": ["1"]}, "r": ["x"]})
    assert ruleset.matching({"p": {"q": "1"}, "r": "x"}) == {"old"}
    ruleset.remove("old")
    ruleset.add("new", {"s": ["1"], "r": ["x"]})
    assert ruleset.matching({"p": {"q": "1"}, "r": "x"}) == set()
    assert ruleset.matching({"s": "1", "r": "x"}) == {"new"}
    ruleset.add("old", {"p": {"q": ["1"]}, "r": ["x"]})
    assert ruleset.matching({"p": {"q": "1"}, "s": ["0", "1"], "r": "x"}) == {"old", "new"}
