"""Per-path value index: which of a trie node's children an event's values lead to.

Every condition hanging off one trie node for one path registers its predicates here, each
pointing at the condition's child node. Matching a value then costs one lookup per operator
family, not one test per condition: exact values are one dict lookup; prefixes and suffixes
one dict lookup per distinct length; equals-ignore-case one lookup on the lower-cased value;
CIDR blocks one lookup per distinct prefix length; numeric ranges a bisect over sorted bounds.
Wildcards and anything-but are tested one by one; the trie keeps those lists short.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from .cidr import parse_ip
from .flatten import NO_VALUE
from .numeric import MAX_KEY, MIN_KEY, exact_key, numeric_key
from .predicates import (
    Absent,
    AnythingBut,
    Cidr,
    EqualsIgnoreCase,
    ExactLiteral,
    ExactNumber,
    ExactString,
    Exists,
    NumericRange,
    Predicate,
    Prefix,
    Suffix,
    Wildcard,
)

Child = Any  # the trie node type (ruleset._Node); kept opaque so this module stands alone


# Exact strings are the transitions nearly every event takes, so their table keeps the one
# child most keys have directly, not in a list: a walk step then touches two objects fewer,
# which at 10,000 rules (an index far bigger than the CPU caches) is most of its cost.
# Several children under one key are a tuple; a child is never a tuple.
ExactTable = dict[str, Any]


def _add_exact(table: ExactTable, key: str, child: Child) -> None:
    found = table.get(key)
    if found is None:
        table[key] = child
    elif found.__class__ is tuple:
        table[key] = (*found, child)
    else:
        table[key] = (found, child)


def _discard_exact(table: ExactTable, key: str, child: Child) -> None:
    found = table[key]
    if found.__class__ is not tuple:
        del table[key]
        return
    rest = tuple(c for c in found if c is not child)
    table[key] = rest[0] if len(rest) == 1 else rest


def exact_hits(table: ExactTable, values: list[Any]) -> list[Child]:
    """Children the given leaf values reach in an exact-string table (may repeat a child)."""
    hits: list[Child] = []
    for value in values:
        found = table.get(value)
        if found is not None:
            if found.__class__ is tuple:
                hits.extend(found)
            else:
                hits.append(found)
    return hits


def _add(table: dict[Any, list[Child]], key: Any, child: Child) -> None:
    table.setdefault(key, []).append(child)


def _discard(table: dict[Any, list[Child]], key: Any, child: Child) -> None:
    children = table[key]
    children.remove(child)
    if not children:
        del table[key]


class _Affixes:
    """Prefixes (or suffixes) grouped by length: one slice and one dict lookup per length."""

    __slots__ = ("by_length", "suffix")

    def __init__(self, suffix: bool) -> None:
        self.by_length: dict[int, dict[str, list[Child]]] = {}
        self.suffix = suffix

    def add(self, text: str, child: Child) -> None:
        _add(self.by_length.setdefault(len(text), {}), text, child)

    def remove(self, text: str, child: Child) -> None:
        table = self.by_length[len(text)]
        _discard(table, text, child)
        if not table:
            del self.by_length[len(text)]

    def match(self, value: str, hits: list[Child]) -> None:
        size = len(value)
        for length, table in self.by_length.items():
            if length > size:
                continue
            key = "" if length == 0 else value[size - length:] if self.suffix else value[:length]
            found = table.get(key)
            if found:
                hits.extend(found)


class _Ranges:
    """Closed integer intervals, matched by bisect.

    One-sided ranges are kept sorted by their finite bound so all matches are one slice;
    two-sided ones sorted by lower bound and filtered on the upper. Sorted views are rebuilt
    lazily after a change.
    """

    __slots__ = ("entries", "dirty", "lows", "low_children", "highs", "high_children", "both", "both_lows")

    def __init__(self) -> None:
        self.entries: list[tuple[int, int, Child]] = []
        self.dirty = True

    def add(self, low: int, high: int, child: Child) -> None:
        self.entries.append((low, high, child))
        self.dirty = True

    def remove(self, low: int, high: int, child: Child) -> None:
        self.entries.remove((low, high, child))
        self.dirty = True

    def _rebuild(self) -> None:
        above = sorted((e for e in self.entries if e[1] == MAX_KEY and e[0] != MIN_KEY), key=lambda e: e[0])
        below = sorted((e for e in self.entries if e[0] == MIN_KEY), key=lambda e: e[1])
        both = sorted((e for e in self.entries if e[0] != MIN_KEY and e[1] != MAX_KEY), key=lambda e: e[0])
        self.lows = [e[0] for e in above]
        self.low_children = [e[2] for e in above]
        self.highs = [e[1] for e in below]
        self.high_children = [e[2] for e in below]
        self.both = both
        self.both_lows = [e[0] for e in both]
        self.dirty = False

    def match(self, key: int, hits: list[Child]) -> None:
        if self.dirty:
            self._rebuild()
        if self.lows:
            hits.extend(self.low_children[: bisect_right(self.lows, key)])
        if self.highs:
            hits.extend(self.high_children[bisect_left(self.highs, key) :])
        if self.both:
            for _low, high, child in self.both[: bisect_right(self.both_lows, key)]:
                if key <= high:
                    hits.append(child)


class PathIndex:
    """The conditions on one path out of one trie node."""

    __slots__ = (
        "size",
        "exact_str",
        "exact_num",
        "exact_lit",
        "ignore_case",
        "prefixes",
        "prefixes_ci",
        "suffixes",
        "suffixes_ci",
        "ranges",
        "cidrs",
        "wildcards",
        "anything_but",
        "exists",
        "absent",
        "string_ops",
        "exact_only",
        "match",
    )

    def __init__(self) -> None:
        # Most indexes only ever hold exact strings; the rest of the families are created on
        # first use, which keeps a 10,000-rule index small enough to stay in CPU caches.
        self.size = 0
        self.exact_str: ExactTable = {}
        self.exact_num: dict[Any, list[Child]] = _EMPTY_TABLE
        self.exact_lit: dict[Any, list[Child]] = _EMPTY_TABLE
        self.ignore_case: dict[str, list[Child]] = _EMPTY_TABLE
        self.prefixes = _NO_AFFIXES
        self.prefixes_ci = _NO_AFFIXES
        self.suffixes = _NO_AFFIXES
        self.suffixes_ci = _NO_AFFIXES
        self.ranges = _NO_RANGES
        self.cidrs: dict[tuple[int, int], dict[int, list[Child]]] = _EMPTY_TABLE
        self.wildcards: list[tuple[Wildcard, Child]] = _EMPTY_LIST
        self.anything_but: list[tuple[AnythingBut, Child]] = _EMPTY_LIST
        self.exists: list[Child] = _EMPTY_LIST
        self.absent: list[Child] = _EMPTY_LIST
        self.string_ops = False
        self.exact_only = True
        self.match = self._match_exact_strings

    def add(self, predicates: tuple[Predicate, ...], child: Child) -> None:
        for predicate in predicates:
            self._apply(predicate, child, True)
        self.size += 1
        self._refresh()

    def remove(self, predicates: tuple[Predicate, ...], child: Child) -> None:
        for predicate in predicates:
            self._apply(predicate, child, False)
        self.size -= 1
        self._refresh()

    def _refresh(self) -> None:
        # One flag to skip all string operators for the common exact-only case.
        self.string_ops = bool(
            self.ignore_case
            or self.prefixes.by_length
            or self.prefixes_ci.by_length
            or self.suffixes.by_length
            or self.suffixes_ci.by_length
            or self.cidrs
            or self.wildcards
        )
        self.exact_only = not (
            self.string_ops
            or self.exact_num
            or self.exact_lit
            or self.ranges.entries
            or self.anything_but
            or self.exists
            or self.absent
        )
        self.match = self._match_exact_strings if self.exact_only else self._match_any

    def _match_exact_strings(self, value: Any) -> list[Child] | tuple[Child, ...]:
        """The common case (source, detail-type, states): one dict lookup per value.

        Rule-set walks do this lookup inline on `exact_str`; this serves the array-rule
        walk. NO_VALUE is no key, and exact-only means nothing is Absent.
        """
        if value.__class__ is list:
            return exact_hits(self.exact_str, value)
        found = self.exact_str.get(value)
        if found is None:
            return _EMPTY_LIST
        return found if found.__class__ is tuple else [found]

    def _own(self, name: str, factory: Any) -> Any:
        """The named family, replacing the shared empty placeholder by a private one."""
        family = getattr(self, name)
        if family is _EMPTY_TABLE or family is _EMPTY_LIST or family is _NO_AFFIXES or family is _NO_RANGES:
            family = factory()
            setattr(self, name, family)
        return family

    def _apply(self, p: Predicate, child: Child, adding: bool) -> None:
        if adding:
            t = type(p)
            if t is ExactNumber:
                self._own("exact_num", dict)
            elif t is ExactLiteral:
                self._own("exact_lit", dict)
            elif t is EqualsIgnoreCase:
                self._own("ignore_case", dict)
            elif t is Prefix:
                self._own("prefixes_ci" if p.ignore_case else "prefixes", lambda: _Affixes(False))  # type: ignore[attr-defined]
            elif t is Suffix:
                self._own("suffixes_ci" if p.ignore_case else "suffixes", lambda: _Affixes(True))  # type: ignore[attr-defined]
            elif t is NumericRange:
                self._own("ranges", _Ranges)
            elif t is Cidr:
                self._own("cidrs", dict)
            elif t is Wildcard:
                self._own("wildcards", list)
            elif t is AnythingBut:
                self._own("anything_but", list)
            elif t is Exists:
                self._own("exists", list)
            elif t is Absent:
                self._own("absent", list)
        self._apply_to_family(p, child, adding)

    def _apply_to_family(self, p: Predicate, child: Child, adding: bool) -> None:
        table_op = _add if adding else _discard
        t = type(p)
        if t is ExactString:
            (_add_exact if adding else _discard_exact)(self.exact_str, p.value, child)  # type: ignore[attr-defined]
        elif t is ExactNumber:
            table_op(self.exact_num, p.key, child)  # type: ignore[attr-defined]
        elif t is ExactLiteral:
            table_op(self.exact_lit, p.value, child)  # type: ignore[attr-defined]
        elif t is EqualsIgnoreCase:
            table_op(self.ignore_case, p.text, child)  # type: ignore[attr-defined]
        elif t is Prefix or t is Suffix:
            if t is Prefix:
                affixes = self.prefixes_ci if p.ignore_case else self.prefixes  # type: ignore[attr-defined]
            else:
                affixes = self.suffixes_ci if p.ignore_case else self.suffixes  # type: ignore[attr-defined]
            (affixes.add if adding else affixes.remove)(p.text, child)  # type: ignore[attr-defined]
        elif t is NumericRange:
            (self.ranges.add if adding else self.ranges.remove)(p.low, p.high, child)  # type: ignore[attr-defined]
        elif t is Cidr:
            block = (p.version, p.prefixlen)  # type: ignore[attr-defined]
            if adding:
                _add(self.cidrs.setdefault(block, {}), p.network, child)  # type: ignore[attr-defined]
            else:
                _discard(self.cidrs[block], p.network, child)  # type: ignore[attr-defined]
                if not self.cidrs[block]:
                    del self.cidrs[block]
        elif t is Wildcard:
            _toggle(self.wildcards, (p, child), adding)
        elif t is AnythingBut:
            _toggle(self.anything_but, (p, child), adding)
        elif t is Exists:
            _toggle(self.exists, child, adding)
        elif t is Absent:
            _toggle(self.absent, child, adding)
        else:  # pragma: no cover - every predicate class is handled above
            raise TypeError(f"unindexed predicate {p!r}")

    def _match_any(self, value: Any) -> list[Child]:
        """Children whose condition holds for a path's value: NO_VALUE, a leaf or a list of leaves.

        May list a child more than once; callers deduplicate. Callers must not modify the
        returned list, which can be one of the index's own.
        """
        if value is NO_VALUE:
            return self.absent
        hits: list[Child] = list(self.exists)
        if value.__class__ is list:
            for item in value:
                self._match_leaf(item, hits)
        else:
            self._match_leaf(value, hits)
        return hits

    def _match_leaf(self, value: Any, hits: list[Child]) -> None:
        t = type(value)
        if t is str:
            if self.exact_str:
                found = self.exact_str.get(value)
                if found is not None:
                    if found.__class__ is tuple:
                        hits.extend(found)
                    else:
                        hits.append(found)
            if self.string_ops:
                self._match_string(value, hits)
        elif t is int or t is float:
            if self.exact_num:
                found = self.exact_num.get(exact_key(value))
                if found:
                    hits.extend(found)
            if self.ranges.entries:
                key = numeric_key(value)
                if key is not None:
                    self.ranges.match(key, hits)
        elif self.exact_lit:
            found = self.exact_lit.get(value)
            if found:
                hits.extend(found)
        if self.anything_but:
            for predicate, child in self.anything_but:
                if predicate.test(value):
                    hits.append(child)

    def _match_string(self, value: str, hits: list[Child]) -> None:
        if self.prefixes.by_length:
            self.prefixes.match(value, hits)
        if self.suffixes.by_length:
            self.suffixes.match(value, hits)
        if self.ignore_case or self.prefixes_ci.by_length or self.suffixes_ci.by_length:
            lowered = value.lower()
            found = self.ignore_case.get(lowered)
            if found:
                hits.extend(found)
            if self.prefixes_ci.by_length:
                self.prefixes_ci.match(lowered, hits)
            if self.suffixes_ci.by_length:
                self.suffixes_ci.match(lowered, hits)
        if self.cidrs:
            ip = parse_ip(value)
            if ip is not None:
                version, address = ip
                bits = 32 if version == 4 else 128
                for (block_version, prefixlen), networks in self.cidrs.items():
                    if block_version == version:
                        found = networks.get(address >> (bits - prefixlen))
                        if found:
                            hits.extend(found)
        for predicate, child in self.wildcards:
            if predicate.test(value):
                hits.append(child)


_EMPTY_TABLE: dict[Any, Any] = {}
_EMPTY_LIST: list[Any] = []
_NO_AFFIXES = _Affixes(False)
_NO_RANGES = _Ranges()


def _toggle(items: list[Any], item: Any, adding: bool) -> None:
    if adding:
        items.append(item)
    else:
        items.remove(item)
