"""RuleSet behaviour: add/replace/remove, membership, the array rule, events as bytes."""

from __future__ import annotations

import orjson
import pytest

from streams.patterns import InvalidEvent, RuleSet, compile_pattern


def test_add_replace_remove_len_contains() -> None:
    rules = RuleSet()
    rules.add("a", {"source": ["x"]})
    rules.add("b", '{"source": ["x"], "detail": {"n": [{"numeric": [">", 1]}]}}')
    assert len(rules) == 2 and "a" in rules and "c" not in rules
    event = {"source": "x", "detail": {"n": 2}}
    assert rules.matching(event) == {"a", "b"}
    rules.add("a", {"source": ["y"]})
    assert len(rules) == 2
    assert rules.matching(event) == {"b"}
    assert rules.matching({"source": "y"}) == {"a"}
    rules.remove("b")
    assert rules.matching(event) == set() and "b" not in rules
    rules.remove("a")
    assert len(rules) == 0 and rules.matching({"source": "y"}) == set()
    with pytest.raises(KeyError):
        rules.remove("a")


def test_shared_prefix_removal_keeps_others() -> None:
    rules = RuleSet()
    rules.add("a", {"source": ["x"], "detail-type": ["t"]})
    rules.add("b", {"source": ["x"], "detail-type": ["t"], "detail": {"k": [{"prefix": "v"}]}})
    rules.add("c", {"source": ["x"]})
    event = {"source": "x", "detail-type": "t", "detail": {"k": "vv"}}
    assert rules.matching(event) == {"a", "b", "c"}
    rules.remove("a")
    assert rules.matching(event) == {"b", "c"}
    rules.remove("c")
    assert rules.matching(event) == {"b"}


def test_accepts_compiled_pattern_and_bytes_event() -> None:
    rules = RuleSet()
    rules.add(("tuple", "id"), compile_pattern({"detail": {"ip": [{"cidr": "192.168.0.0/16"}]}}))
    assert rules.matching(b'{"detail": {"ip": "192.168.4.4"}}') == {("tuple", "id")}


def test_or_branches_report_rule_once() -> None:
    rules = RuleSet()
    rules.add("r", {"$or": [{"a": ["1"]}, {"b": ["2"]}]})
    assert rules.matching({"a": "1", "b": "2"}) == {"r"}


def test_array_rule_in_ruleset() -> None:
    rules = RuleSet()
    rules.add("same", {"items": {"sku": ["a"], "qty": [2]}})
    rules.add("sku", {"items": {"sku": ["a"]}})
    split = {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}
    together = {"items": [{"sku": "b", "qty": 1}, {"sku": "a", "qty": 2}]}
    assert rules.matching(split) == {"sku"}
    assert rules.matching(together) == {"same", "sku"}


def test_repeated_path_in_branch_uses_one_element() -> None:
    pattern = {"items": {"k": ["a"]}, "$or": [{"items": {"k": ["b"]}}, {"z": ["z"]}]}
    rules = RuleSet()
    rules.add("r", pattern)
    split = {"items": [{"k": "a"}, {"k": "b"}]}
    assert compile_pattern(pattern).matches(split) is False
    assert rules.matching(split) == set()
    assert rules.matching({"items": [{"k": "a"}], "z": "z"}) == {"r"}


@pytest.mark.parametrize("bad", [b"not json", "[1]", b"null", 5, None])
def test_bad_event_raises_invalid_event(bad: object) -> None:
    rules = RuleSet()
    rules.add("r", {"a": ["x"]})
    with pytest.raises(InvalidEvent):
        rules.matching(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compile_pattern({"a": ["x"]}).matches(bad)  # type: ignore[arg-type]


def test_many_rules_incremental() -> None:
    rules = RuleSet()
    for i in range(500):
        rules.add(i, {"source": [f"s{i % 50}"], "detail": {"n": [{"numeric": [">=", i]}]}})
    event = orjson.dumps({"source": "s7", "detail": {"n": 100}})
    assert rules.matching(event) == {i for i in range(0, 101) if i % 50 == 7}
    for i in range(0, 500, 2):
        rules.remove(i)
    assert rules.matching(event) == {i for i in range(0, 101) if i % 50 == 7 and i % 2}
