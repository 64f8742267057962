"""event-ruler's array rule: fields matched in different elements of one array don't match together.

Each value carries its Context, the (array, element index) pairs on its way from the root.
Two values can be used together unless they pass through the same array at different
elements. Values under different arrays (different subtrees) never conflict.

`exists: false` follows the same rule, the way event-ruler evaluates it: a branch's fields
are taken in the order of their dotted names (event-ruler sorts a rule's keys), and a field
that must not exist holds when no value at its path can be used together with the values
already matched by fields earlier in that order. So `{"employees": {"firstName": ["Anna"],
"ids": [{"exists": false}]}}` asks for one element with firstName Anna and no ids, while
with a field that sorts before the matched ones (say `"aids"` instead of `"ids"`) no element
may have it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from .flatten import Context, Path

# A context chosen for a matched field, with that field's RulerKey.
Choice = tuple[bytes, Context]


@lru_cache(maxsize=4096)
def ruler_key(path: Path) -> bytes:
    """The field's place in event-ruler's order: its dotted name as Java sorts strings (UTF-16 units)."""
    return ".".join(path).encode("utf-16-be", "surrogatepass")


def compatible(a: Context, b: Context) -> bool:
    """Whether two values may be matched together under the array rule."""
    for (array_a, index_a), (array_b, index_b) in zip(a, b, strict=False):
        if array_a != array_b:
            return True
        if index_a != index_b:
            return False
    return True


def compatible_with_all(ctx: Context, chosen: Iterable[Choice]) -> bool:
    """Whether a value's context fits every context already committed to."""
    return all(compatible(ctx, other) for _key, other in chosen)


def absent_under(key: bytes, present: Iterable[Context], chosen: Iterable[Choice]) -> bool:
    """Whether a field that must not exist holds: none of its values fits the earlier choices."""
    earlier = [choice for choice in chosen if choice[0] < key]
    return not any(compatible_with_all(ctx, earlier) for ctx in present)


# One way to satisfy a condition: a matched value's context, or (None, key, contexts present
# at its path) when it is satisfied by absence, checked once every choice is made.
Option = tuple[Context | None, bytes, tuple[Context, ...]]


def consistent_choice(options: list[list[Option]]) -> bool:
    """Whether one option per condition can be picked so that the array rule holds.

    Options outside any array (empty context) never constrain others, so a condition having
    one is dropped; the rest are searched fewest options first, with pruning, which in
    practice touches one element per array.
    """
    remaining = sorted(
        (opts for opts in options if not any(ctx == () for ctx, _key, _present in opts)), key=len
    )
    return _search(remaining, 0, (), ())


def _search(
    options: list[list[Option]], i: int, chosen: tuple[Choice, ...], absences: tuple[tuple[bytes, tuple[Context, ...]], ...]
) -> bool:
    if i == len(options):
        return all(absent_under(key, present, chosen) for key, present in absences)
    for ctx, key, present in options[i]:
        if ctx is None:
            if _search(options, i + 1, chosen, (*absences, (key, present))):
                return True
        elif compatible_with_all(ctx, chosen) and _search(options, i + 1, (*chosen, (key, ctx)), absences):
            return True
    return False
