"""The router's native fast path: a bus's rules handed to busbar_native (Rust, in native/).

One `EnvelopeMatcher.route(raw)` call per bus record parses the record, checks that it is a
plainly valid envelope and returns the rules it matches, without building a Python dict of
the event: in Python, decoding, validating and matching were about two thirds of the
router's CPU per event. The Python pattern engine stays the reference and the fallback.
Rules are compiled and validated there, and handed over here already compiled, with what the
native side needs to decide as Python does: each path's place in event-ruler's field order
(for the array rule) and Python's own lower-casing (for equals-ignore-case). Every operator
family and event shape is decided natively. A record that is no plainly valid envelope comes
back as None and takes the Python path whole (to be dead-lettered with the reason). Should a
test be one the native side cannot decide (non-ASCII text under ignore-case when built
without the case tables), `route` still decides every other rule and names the few Python
must check on that event. So the two can differ in speed only, never in outcome
(tests/test_native_matcher.py holds them equal).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable
from functools import cache
from typing import Any

from busbar_native import EnvelopeMatcher

from streams.envelope import FIELDS, MAX_EVENT_BYTES
from streams.patterns import EventPattern
from streams.patterns import predicates as pr
from streams.patterns.compiler import Condition
from streams.patterns.consistency import ruler_key
from streams.patterns.numeric import MAX_NUMBER, MIN_NUMBER, SCALE

__all__ = ["EnvelopeMatcher", "build_matcher"]


def build_matcher(rules: Iterable[tuple[Hashable, EventPattern]], case: bool = True) -> EnvelopeMatcher:
    """A native matcher for these rules; `route` hands back the rule ids given here.

    Built whole on every change of the bus's rules: 1,000 rules take a few milliseconds,
    and the router rebuilds at most once per batch, however many changes arrived. `case=False`
    leaves out Python's case tables (python_case): rules testing non-ASCII text under
    ignore-case are then left to Python, on the events that have such text.
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
    order = {key: rank for rank, key in enumerate(sorted({ruler_key(path) for path in paths}))}
    lowers = case and any(_lowers(p) for condition in conditions for p in condition.predicates)
    lowercase, sigma = python_case() if lowers else (None, None)
    return EnvelopeMatcher([list(path) for path in paths], encoded, branches, ids, strict, MAX_EVENT_BYTES,
                           list(FIELDS), (MIN_NUMBER, MAX_NUMBER, SCALE), [order[ruler_key(p)] for p in paths],
                           lowercase, sigma)


Ranges = list[tuple[int, int]]
# Neither cased nor case-ignorable, its own lower case, and no lower case holds it: it keeps the
# batched probes below apart (each sigma's context ends at it).
_SEPARATOR = 0x0A
_SIGMA, _FINAL_SIGMA = "\u03a3", "\u03c2"


@cache
def python_case() -> tuple[list[tuple[str, str]], tuple[Ranges, Ranges]]:
    """This interpreter's `str.lower()`, as native/src/fold.rs applies it.

    equals-ignore-case compares `value.lower()` by this interpreter's Unicode tables, so the
    native side lower-cases by them rather than by Rust's own (maybe another Unicode version):
    every code point whose lower case is not itself, with that lower case, and, for capital
    sigma (final sigma after a cased letter that no cased letter follows, case-ignorable code
    points skipped), the case-ignorable code points and the other cased ones. Those two are
    read off `str.lower()` too: c + sigma ends in final sigma exactly when c is cased and not
    case-ignorable, "A" + c + sigma exactly when c is case-ignorable or that. Derived once per
    process, for rule sets that use ignore-case, with two batched lower() calls.
    """
    chars = [chr(c) for c in itertools.chain(*_CASED_PLANES) if not 0xD800 <= c <= 0xDFFF and c != _SEPARATOR]
    with_sigma = _lower_each(chars, "", _SIGMA)  # a lone sigma's lower case is the small one
    table = [(c, low[:-1]) for c, low in zip(chars, with_sigma, strict=True) if low[:-1] != c]
    cased = [low[-1] == _FINAL_SIGMA for low in with_sigma]
    after_cased = [low[-1] == _FINAL_SIGMA for low in _lower_each(chars, "A", _SIGMA)]
    ignorable = [ord(c) for c, a, b in zip(chars, after_cased, cased, strict=True) if a and not b]
    return table, (_ranges(ignorable), _ranges([ord(c) for c, b in zip(chars, cased, strict=True) if b]))


# Planes 0-3 and 14: in every Unicode version, planes 4-13 are unassigned and 15-16 private use,
# so no code point there is cased, case-ignorable or lower-cased (tests hold a sample to that).
_CASED_PLANES = (range(0x40000), range(0xE0000, 0xF0000))


def _lower_each(chars: list[str], before: str, after: str) -> list[str]:
    """(before + c + after).lower() for each c, in one lower() call."""
    separator = chr(_SEPARATOR)
    return separator.join(before + c + after for c in chars).lower().split(separator)


def _ranges(points: list[int]) -> Ranges:
    """Sorted code points as inclusive ranges."""
    out: Ranges = []
    for point in points:
        if out and out[-1][1] == point - 1:
            out[-1] = (out[-1][0], point)
        else:
            out.append((point, point))
    return out


def _lowers(p: pr.Predicate) -> bool:
    """Whether testing the predicate lower-cases event text."""
    t = type(p)
    if t is pr.AnythingBut:
        return any(_lowers(x) for x in p.excluded)  # type: ignore[attr-defined]
    return t is pr.EqualsIgnoreCase or ((t is pr.Prefix or t is pr.Suffix) and p.ignore_case)  # type: ignore[attr-defined]


def encode_predicate(p: pr.Predicate) -> tuple[Any, ...]:
    """The predicate as native/src/lib.rs `decode_pred` reads it."""
    t = type(p)
    if t is pr.ExactString:
        return ("str", p.value)  # type: ignore[attr-defined]
    if t is pr.ExactNumber:
        key = p.key  # type: ignore[attr-defined]
        return ("num", key) if type(key) is int else ("bignum", *_big_number(key[1]))
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
        return ("cidr", p.version, p.prefixlen, p.network)  # type: ignore[attr-defined]
    if t is pr.Exists:
        return ("exists",)
    if t is pr.Absent:
        return ("absent",)
    if t is pr.AnythingBut:
        return ("anything-but", [encode_predicate(x) for x in p.excluded])  # type: ignore[attr-defined]
    raise TypeError(f"no native form for predicate {p!r}")


_I128 = 2**127


def _big_number(value: int | float) -> tuple[int | None, float | None]:
    """A number outside the numeric range as native/src/pred.rs `Big` holds it: the integer it
    equals (when one fits in 128 bits) and the float it equals (when it is one)."""
    if type(value) is float:
        whole = value.is_integer() and -_I128 <= value < _I128
        return (int(value) if whole else None), value
    try:
        as_float = float(value)
    except OverflowError:
        as_float = None
    exact = as_float if as_float is not None and as_float == value else None
    return (value if -_I128 <= value < _I128 else None), exact  # type: ignore[return-value]
