"""`exists: false` under the array rule, against a literal transcription of event-ruler's matcher.

event-ruler (the matcher behind EventBridge) flattens an event into fields (dotted name, value,
the array elements the value sits in), takes a rule's fields in sorted name order and, for a
field that must not exist, looks only for values that fit the array elements already matched.
`ruler_matches` below does exactly that, by brute force, so the engine's own search (and the
rule set's index walk) is checked against an independent reading of the reference.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.patterns import RuleSet, compile_pattern
from streams.patterns.compiler import Branch
from streams.patterns.predicates import Absent
from tests.test_patterns_properties import patterns

Membership = dict[int, int]
Field = tuple[str, Any, Membership]


def ruler_fields(event: dict[str, Any]) -> list[Field]:
    """Event.java's flattening: leaves only; each object or array inside an array records its element."""
    fields: list[Field] = []
    arrays = [0]

    def visit(value: Any, name: str, membership: Membership) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                visit(inner, f"{name}.{key}" if name else key, membership)
        elif isinstance(value, list):
            array = arrays[0]
            arrays[0] += 1
            for index, item in enumerate(value):
                inside = {**membership, array: index} if isinstance(item, dict | list) else membership
                visit(item, name, inside)
        else:
            fields.append((name, value, membership))

    visit(event, "", {})
    return fields


def consistent(a: Membership, b: Membership) -> bool:
    return all(b.get(array, index) == index for array, index in a.items())


def ruler_matches(branch: Branch, fields: list[Field]) -> bool:
    """ACFinder: conditions in sorted name order; absence judged against what was matched before."""
    ordered = sorted(branch, key=lambda c: ".".join(c.path).encode("utf-16-be"))

    def step(i: int, membership: Membership) -> bool:
        if i == len(ordered):
            return True
        condition = ordered[i]
        name = ".".join(condition.path)
        positive = [p for p in condition.predicates if type(p) is not Absent]
        at_name = [(value, m) for field_name, value, m in fields if field_name == name and consistent(m, membership)]
        for value, field_membership in at_name:
            if any(p.test(value) for p in positive) and step(i + 1, {**membership, **field_membership}):
                return True
        return condition.accepts_absent and not at_name and step(i + 1, membership)

    return step(0, {})


EMPLOYEES = {"employees": {"firstName": ["Anna"], "ids": [{"exists": False}]}}
TEAMS = {"teams": {"members": {"name": ["a"], "role": [{"exists": False}]}}}
CASES = [
    ("the one Anna has ids", EMPLOYEES, {"employees": [{"firstName": "Anna", "ids": [1]}, {"firstName": "Bob"}]}, False),
    ("another element has ids", EMPLOYEES, {"employees": [{"firstName": "Anna"}, {"firstName": "Bob", "ids": [1]}]}, True),
    ("order of elements does not matter", EMPLOYEES,
     {"employees": [{"firstName": "Bob", "ids": [1]}, {"firstName": "Anna"}]}, True),
    ("no array at all", EMPLOYEES, {"employees": {"firstName": "Anna"}}, True),
    ("a field sorted before the matched one must be absent everywhere",
     {"employees": {"firstName": ["Anna"], "aids": [{"exists": False}]}},
     {"employees": [{"firstName": "Anna"}, {"firstName": "Bob", "aids": [1]}]}, False),
    ("nested arrays: one member of one team", TEAMS,
     {"teams": [{"members": [{"name": "a", "role": "x"}, {"name": "b"}]}, {"members": [{"name": "a"}]}]}, True),
    ("nested arrays: the only a has a role", TEAMS,
     {"teams": [{"members": [{"name": "a", "role": "x"}, {"name": "b"}]}, {"members": [{"name": "c"}]}]}, False),
    ("absence one level up from the match", {"teams": {"lead": [{"exists": False}], "members": {"name": ["a"]}}},
     {"teams": [{"lead": "z", "members": [{"name": "b"}]}, {"members": [{"name": "a"}]}]}, False),
    ("a value or absence, in the same element",
     {"items": {"a": ["x"], "b": ["y", {"exists": False}]}}, {"items": [{"a": "x", "b": "q"}, {"a": "x"}]}, True),
    ("a value or absence, neither in the element",
     {"items": {"a": ["x"], "b": ["y", {"exists": False}]}}, {"items": [{"a": "x", "b": "q"}, {"b": "y"}]}, False),
]


@pytest.mark.parametrize(("why", "pattern", "event", "expected"), CASES, ids=[c[0] for c in CASES])
def test_exists_false_inside_arrays_of_objects(why: str, pattern: dict[str, Any], event: dict[str, Any],
                                               expected: bool) -> None:
    compiled = compile_pattern(pattern)
    assert any(ruler_matches(b, ruler_fields(event)) for b in compiled.branches) is expected, "the oracle disagrees"
    assert compiled.matches(event) is expected, why
    ruleset = RuleSet()
    ruleset.add("r", pattern)
    ruleset.add("other", {"teams": {"x": [1]}, "employees": {"y": [1]}, "items": {"z": [1]}})
    assert (ruleset.matching(orjson.dumps(event)) == {"r"}) is expected, why


# Arrays of objects with a few keys each, so that elements differ in which keys they have.
KEYS = ["k", "n", "items", "detail.k"]
element_values = st.one_of(st.sampled_from(["a", "ab", "", 1, None]), st.lists(st.sampled_from(["a", 1]), max_size=2))
elements = st.recursive(
    st.dictionaries(st.sampled_from(KEYS), element_values, max_size=3),
    lambda children: st.dictionaries(st.sampled_from(KEYS), st.one_of(children, st.lists(children, max_size=3)),
                                     min_size=1, max_size=3),
    max_leaves=8,
)
array_events = st.dictionaries(st.sampled_from(["items", "detail", "k"]), st.lists(elements, min_size=1, max_size=3),
                               min_size=1, max_size=2)


# Patterns on the fields of those elements, with `exists` in both senses, so absent fields sort
# before and after matched ones.
element_conditions = st.lists(st.sampled_from(["a", 1, {"exists": False}, {"exists": True}, {"prefix": "a"}]),
                              min_size=1, max_size=2)
element_fields = st.dictionaries(st.sampled_from(KEYS), element_conditions, min_size=1, max_size=3)
array_patterns = st.builds(
    lambda top, fields, nested: {top: {**fields, "items": nested} if nested else fields},
    st.sampled_from(["items", "detail", "k"]), element_fields, st.one_of(st.none(), element_fields),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(st.one_of(patterns, array_patterns, array_patterns), min_size=1, max_size=4),
       samples=st.lists(array_events, min_size=1, max_size=4))
def test_the_engine_matches_as_event_ruler_does(rules: list[dict[str, Any]], samples: list[dict[str, Any]]) -> None:
    ruleset = RuleSet()
    compiled = {}
    for i, pattern in enumerate(rules):
        ruleset.add(i, pattern)
        compiled[i] = compile_pattern(pattern)
    for event in samples:
        fields = ruler_fields(event)
        expected = set()
        for i, pattern in compiled.items():
            # event-ruler cannot hold one name twice in a rule, so such branches have no reference answer.
            if any(len({c.path for c in b}) < len(b) for b in pattern.branches):
                continue
            if any(ruler_matches(b, fields) for b in pattern.branches):
                expected.add(i)
            assert pattern.matches(event) is (i in expected), (event, rules[i])
        comparable = {i for i in compiled if i in expected or not any(
            len({c.path for c in b}) < len(b) for b in compiled[i].branches)}
        assert ruleset.matching(orjson.dumps(event)) & comparable == expected, (event, rules)
