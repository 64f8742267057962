"""event-ruler's array rule: fields matched in different elements of one array don't match together.

Each value carries its Context, the (array, element index) pairs on its way from the root.
Two values can be used together unless they pass through the same array at different
elements. Values under different arrays (different subtrees) never conflict.
"""

from __future__ import annotations

from .flatten import Context


def compatible(a: Context, b: Context) -> bool:
    """Whether two values may be matched together under the array rule."""
    for (array_a, index_a), (array_b, index_b) in zip(a, b, strict=False):
        if array_a != array_b:
            return True
        if index_a != index_b:
            return False
    return True


def compatible_with_all(ctx: Context, chosen: tuple[Context, ...]) -> bool:
    """Whether a value's context fits every context already committed to."""
    return all(compatible(ctx, other) for other in chosen)


def consistent_choice(options: list[set[Context]]) -> bool:
    """Whether one context per condition can be picked, pairwise compatible.

    Conditions satisfiable outside any array (empty context) never constrain others and are
    dropped; the rest are searched smallest first with pruning, which in practice touches
    one element per array.
    """
    remaining = sorted((opts for opts in options if () not in opts), key=len)
    if any(not opts for opts in remaining):
        return False
    return _search(remaining, 0, ())


def _search(options: list[set[Context]], i: int, chosen: tuple[Context, ...]) -> bool:
    if i == len(options):
        return True
    for ctx in options[i]:
        if compatible_with_all(ctx, chosen) and _search(options, i + 1, (*chosen, ctx)):
            return True
    return False
