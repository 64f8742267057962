"""The native fast path (busbar_native via streams/router/native.py) against the Python reference.

Whenever the native matcher decides a record, its answer must be the Python path's answer:
the record is a valid envelope (decode_json accepts it), the event id is the same, and the
matched rules are what RuleSet.matching returns. Where it cannot decide exactly, it must say
so (None) rather than guess; the tests below also pin down that everyday records are decided
natively, so the equivalence is not won by deferring everything.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.envelope import InvalidEnvelope, decode_json
from streams.patterns import RuleSet
from streams.router.native import EnvelopeMatcher, build_matcher
from tests.test_patterns_array_rule import array_events, array_patterns
from tests.test_patterns_properties import DOTTED, WORDS, event_values, patterns

ENVELOPE = {
    "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "OrderPlaced",
    "source": "shop", "account": "123456789012", "time": "2026-11-27T05:43:56Z", "region": "eu-west-1",
    "resources": ["arn:aws:shop:eu-west-1:123456789012:order/1"],
}


def envelope(detail: Any, **fields: Any) -> dict[str, Any]:
    return {**ENVELOPE, **fields, "detail": detail}


def ruleset_of(patterns_: list[Any]) -> RuleSet:
    ruleset = RuleSet()
    for i, pattern in enumerate(patterns_):
        ruleset.add(f"r{i}", pattern)
    return ruleset


def python_answer(ruleset: RuleSet, raw: bytes) -> tuple[bytes | None, set[Any]] | None:
    """What the router's Python path makes of a record; None for an invalid envelope."""
    try:
        event = decode_json(raw)
    except InvalidEnvelope:
        return None
    event_id = event.get("id")
    return (event_id.encode() if event_id is not None else None), ruleset.matching(event)


def assert_agrees(ruleset: RuleSet, matcher: EnvelopeMatcher, raw: bytes) -> bool:
    """Checks the native answer (of `matcher`, built from `ruleset`) against Python's; True when
    the native side decided."""
    native = matcher.route(raw)
    if native is None:
        return False
    expected = python_answer(ruleset, raw)
    assert expected is not None, f"native accepted an invalid envelope: {raw!r}"
    assert (native[0], set(native[1])) == expected, raw
    assert len(native[1]) == len(set(native[1])), "a rule matched twice"
    return True


# --- property tests ----------------------------------------------------------------------------
details = st.one_of(
    st.dictionaries(st.sampled_from(["source", "detail-type", "k", "n", "detail", "items", *DOTTED]),
                    event_values, min_size=1, max_size=6),
    array_events,
)
sources = st.sampled_from([w for w in WORDS if w])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.lists(st.one_of(patterns, array_patterns), min_size=1, max_size=8),
    routing=st.lists(st.one_of(st.none(), st.lists(sources, min_size=1, max_size=2)), min_size=8, max_size=8),
    samples=st.lists(st.tuples(sources, details), min_size=1, max_size=6),
)
def test_native_agrees_with_the_python_engine(rules: list[dict[str, Any]], routing: list[Any],
                                               samples: list[tuple[str, dict[str, Any]]]) -> None:
    # The patterns' vocabulary sits under detail (an envelope has no other free-form field);
    # some rules also select on source, as most real rules do.
    wrapped = [{"detail": p} if s is None else {"source": s, "detail": p} for p, s in zip(rules, routing, strict=False)]
    ruleset = ruleset_of(wrapped)
    matcher = build_matcher(ruleset.items())
    for source, detail in samples:
        assert_agrees(ruleset, matcher, orjson.dumps(envelope(detail, source=source)))


times = st.one_of(
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,3})?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"),
    st.text(alphabet="0123456789-:TZz+.", max_size=26),
)


@settings(max_examples=500, deadline=None)
@given(time=times)
def test_native_time_check_is_the_python_check(time: str) -> None:
    ruleset = ruleset_of([{"source": ["shop"]}])
    raw = orjson.dumps(envelope({}, time=time))
    decided = build_matcher(ruleset.items()).route(raw) is not None
    assert decided == (python_answer(ruleset, raw) is not None), time


# --- the everyday records are decided natively ----------------------------------------------
DECIDED = [
    ({"source": ["shop"], "detail-type": ["OrderPlaced"]}, envelope({"amount": 5})),
    ({"detail": {"amount": [{"numeric": [">", 1, "<=", 5]}]}}, envelope({"amount": 5})),
    ({"detail": {"amount": [5.0]}}, envelope({"amount": 5})),
    ({"detail": {"amount": [0.3]}}, envelope({"amount": 0.1 + 0.2})),
    ({"detail": {"region": [{"prefix": "eu-"}]}}, envelope({"region": "eu-west-1"})),
    ({"detail": {"file": [{"suffix": ".png"}]}}, envelope({"file": "cat.png"})),
    ({"detail": {"state": [{"equals-ignore-case": "running"}]}}, envelope({"state": "RUNNING"})),
    ({"detail": {"state": [{"prefix": {"equals-ignore-case": "RUN"}}]}}, envelope({"state": "Running"})),
    ({"detail": {"key": [{"wildcard": "a*/b*.txt"}]}}, envelope({"key": "a/x/b/y.txt"})),
    ({"detail": {"tier": [{"anything-but": ["banned", "trial"]}]}}, envelope({"tier": "gold"})),
    ({"detail": {"tier": [{"anything-but": {"prefix": "ban"}}]}}, envelope({"tier": "gold"})),
    ({"detail": {"id": [{"exists": True}]}}, envelope({"id": None})),
    ({"detail": {"id": [{"exists": False}]}}, envelope({"other": 1})),
    ({"detail": {"ok": [True], "gone": [None]}}, envelope({"ok": True, "gone": None})),
    ({"detail": {"tags": ["b"]}}, envelope({"tags": ["a", ["b"]]})),
    ({"detail": {"items": {"sku": ["s1"]}}}, envelope({"items": [{"sku": "s0"}, {"sku": "s1"}]})),
    ({"detail": {"state.status": ["on"]}}, envelope({"state": {"status": "on"}, "x.y": 1})),
    ({"resources": [{"prefix": "arn:aws:shop"}]}, envelope({})),
    ({"$or": [{"source": ["nope"]}, {"detail": {"n": [{"numeric": ["<", 0]}]}}]}, envelope({"n": -1})),
    ({"$or": [{"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, {"source": ["shop"]}]}, envelope({"ip": "none"})),
    ({"source": ["shop"]}, envelope({"x": 1e300, "s": "caf\u00e9 \\u00e9", "big": 2**64 - 1})),
    ({"source": ["shop"]}, {k: v for k, v in envelope({}).items() if k not in ("id", "time", "resources")}),
]


@pytest.mark.parametrize(("pattern", "event"), DECIDED)
def test_everyday_records_are_decided_natively_and_agree(pattern: dict[str, Any], event: dict[str, Any]) -> None:
    ruleset = ruleset_of([pattern, {"source": ["other"]}])
    raw = orjson.dumps(event)
    assert assert_agrees(ruleset, build_matcher(ruleset.items()), raw), "left to Python"
    assert python_answer(ruleset, raw)[1] == {"r0"}  # type: ignore[index]


def test_escaped_text_is_compared_decoded() -> None:
    ruleset = ruleset_of([{"detail": {"s": ["caf\u00e9 \"x\""]}}])
    raw = orjson.dumps(envelope({"s": "?"})).replace(b'"?"', b'"caf\\u00e9 \\"x\\""')
    assert assert_agrees(ruleset, build_matcher(ruleset.items()), raw)
    assert python_answer(ruleset, raw)[1] == {"r0"}  # type: ignore[index]


def test_a_record_matching_nothing_is_decided_with_no_rules() -> None:
    ruleset = ruleset_of([{"source": ["other"]}])
    assert build_matcher(ruleset.items()).route(orjson.dumps(envelope({}))) == (ENVELOPE["id"].encode(), ())


# --- what is left to Python ----------------------------------------------------------------
def _raw(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


LEFT_TO_PYTHON = [
    ("not JSON", b"{not json"),
    ("not an object", b"[1, 2]"),
    ("trailing bytes", _raw(envelope({})) + b" x"),
    ("byte order mark", b"\xef\xbb\xbf" + _raw(envelope({}))),
    ("invalid UTF-8 where no rule looks", _raw(envelope({"x": "?"})).replace(b"?", b"\xff")),
    ("lone surrogate where no rule looks", _raw(envelope({"x": "?"})).replace(b"?", b"\\ud800")),
    ("control character where no rule looks", _raw(envelope({"x": "?"})).replace(b"?", b"\x01")),
    ("number orjson refuses", _raw(envelope({"x": 1})).replace(b'"x":1', b'"x":1e400')),
    ("unknown envelope field", _raw({**envelope({}), "extra": 1})),
    ("empty source", _raw(envelope({}, source=""))),
    ("missing detail-type", _raw({k: v for k, v in envelope({}).items() if k != "detail-type"})),
    ("detail not an object", _raw(envelope([1]))),
    ("resources not strings", _raw(envelope({}, resources=["a", 1]))),
    ("id not a string", _raw(envelope({}, id=7))),
    ("bad time", _raw(envelope({}, time="2026-02-30T00:00:00Z"))),
    ("duplicate envelope field", _raw(envelope({})).replace(b'"source":"shop"', b'"source":"x","source":"shop"')),
    ("duplicate key at a used path", _raw(envelope({"state": "a"})).replace(b'"state":"a"', b'"state":"b","state":"a"')),
    ("non-ASCII text under equals-ignore-case", _raw(envelope({"state": "\u212a"}))),
    ("an IP address under cidr", _raw(envelope({"ip": "10.1.2.3"}))),
    ("a big number under an exact big number", _raw(envelope({"n": 6e9}))),
    ("objects in an array under two used paths", _raw(envelope({"items": [{"a": 1, "b": 2}]}))),
    ("a key with a dot that may name a used path", _raw(envelope({"items.a": 1}))),
    ("too large", _raw(envelope({"x": "y" * 300_000}))),
]
LEFT_RULES = [
    {"source": ["shop"]},
    {"detail": {"state": [{"equals-ignore-case": "k"}]}},
    {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}},
    {"detail": {"n": [6e9]}},
    {"detail": {"items": {"a": [1], "b": [2]}}},
]


@pytest.mark.parametrize(("why", "raw"), LEFT_TO_PYTHON, ids=[why for why, _ in LEFT_TO_PYTHON])
def test_records_the_native_side_cannot_decide_exactly_are_left_to_python(why: str, raw: bytes) -> None:
    assert build_matcher(ruleset_of(LEFT_RULES).items()).route(raw) is None, why


def test_the_matcher_hands_back_the_rule_ids_it_was_built_with() -> None:
    first, second = object(), object()
    ruleset = RuleSet()
    ruleset.add(first, {"source": ["shop"]})
    ruleset.add(second, {"detail": {"a": [1]}})
    decided = build_matcher(ruleset.items()).route(orjson.dumps(envelope({"a": 1})))
    assert decided is not None
    assert set(decided[1]) == {first, second}
    assert all(rule is first or rule is second for rule in decided[1])


# One sample pattern per operator form; the test below fails if a predicate class has none,
# so an operator cannot be added to the engine without also reaching the index and the native side.
OPERATOR_SAMPLES = [
    ["x"], [3], [True], [None], [{"prefix": "a"}], [{"suffix": "a"}], [{"prefix": {"equals-ignore-case": "a"}}],
    [{"equals-ignore-case": "a"}], [{"wildcard": "a*b"}], [{"numeric": [">", 1]}], [{"cidr": "10.0.0.0/8"}],
    [{"exists": True}], [{"exists": False}], [{"anything-but": "x"}],
]


def _predicate_classes() -> set[str]:
    """By name: `dataclass(slots=True)` replaces each class, and the replaced one may linger
    among the subclasses."""
    from streams.patterns import predicates as pr

    found, todo = set(), [pr.Predicate]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub.__name__)
            todo.append(sub)
    return found


def test_every_predicate_class_has_an_index_family_and_a_native_encoding() -> None:
    from streams.patterns import RuleSet, compile_pattern
    from streams.router.native import build_matcher, encode_predicate

    compiled = [compile_pattern({"detail": {"f": sample}}) for sample in OPERATOR_SAMPLES]
    predicates = [p for pattern in compiled for branch in pattern.branches for c in branch for p in c.predicates]
    assert {type(p).__name__ for p in predicates} == _predicate_classes()
    rules = RuleSet()
    for number, pattern in enumerate(compiled):
        rules.add(number, pattern)  # raises TypeError for a predicate no index family takes
    for p in predicates:
        assert encode_predicate(p)
    assert build_matcher(rules.items()) is not None


def test_the_native_matcher_refuses_envelope_fields_or_numbers_other_than_its_own() -> None:
    from busbar_native import EnvelopeMatcher

    from streams.envelope import FIELDS, MAX_EVENT_BYTES
    from streams.patterns.numeric import MAX_NUMBER, MIN_NUMBER, SCALE

    EnvelopeMatcher([], [], [], [], False, MAX_EVENT_BYTES, list(FIELDS), (MIN_NUMBER, MAX_NUMBER, SCALE))
    with pytest.raises(ValueError, match="envelope fields"):
        EnvelopeMatcher([], [], [], [], False, MAX_EVENT_BYTES, [*FIELDS, "extra"], (MIN_NUMBER, MAX_NUMBER, SCALE))
    with pytest.raises(ValueError, match="numeric range"):
        EnvelopeMatcher([], [], [], [], False, MAX_EVENT_BYTES, list(FIELDS), (MIN_NUMBER, MAX_NUMBER, 1000))
