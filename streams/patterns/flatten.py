"""Decode events and pull out the values at the paths rules use.

Only paths some rule names are visited: a trie of used paths prunes the walk (as quamina
does), so the parts of an event no rule looks at cost one dict lookup or nothing. A path's
values are its leaf values: scalars, including every scalar element of (nested) arrays.
Objects are not leaf values, which is why `exists` only ever sees leaves.

EventBridge names a field by its keys joined with dots, so an event key holding a dot is
several steps at once: {"a.b": 1} has the value 1 at the path a, b, as {"a": {"b": 1}} does.
Used paths are kept split at dots (the compiler splits pattern keys), and the walks below
follow a dotted event key through as many trie steps as it has parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import orjson

from .errors import InvalidEvent

Path = tuple[str, ...]
# Which element of which array a value came from, outermost first; see consistency.py.
Context = tuple[tuple[int, int], ...]
# What the rule-set walk reads per used path (by slot number): a leaf value, or a list of
# them when the path meets an array; paths without leaf values are left out.
SlotValues = dict[int, Any]
Extractor = Callable[[dict[str, Any]], "SlotValues | None"]


class _NoValue:
    """Type of NO_VALUE: the event has no value at a path (what `exists: false` matches); generated
    code tells it from JSON null with one `is`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Final = _NoValue()
_LEAF_TYPES = frozenset({str, int, float, bool, type(None)})
# Past these sizes straight-line code stops paying: each event would do one dict lookup per
# used key even when the event has few keys, and compiling it on every change of the used
# paths would cost more than it saves. Such rule sets take collect(), which iterates over
# whichever of the event's keys and the used keys are fewer.
_MAX_GENERATED_NODES = 512
_MAX_GENERATED_FANOUT = 32
_MAX_GENERATED_DEPTH = 16


class TrieNode:
    """One step of the used-path trie; `path` is set where some rule names this exact path."""

    __slots__ = ("children", "path", "multi")

    def __init__(self) -> None:
        self.children: dict[str, TrieNode] = {}
        self.path: Path | None = None
        # More than one used path at or below here: only then can two conditions land in
        # different elements of an array above this node and need the array rule.
        self.multi = False


def build_trie(paths: Iterable[Path]) -> TrieNode:
    """Trie of the given paths (rebuilt when the set of distinct used paths changes)."""
    root = TrieNode()
    for path in paths:
        node = root
        for key in path:
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = TrieNode()
            node = child
        node.path = path
    _mark_multi(root)
    return root


def build_extractor(root: TrieNode, slots: Mapping[Path, int]) -> Extractor | None:
    """A function reading all used paths from a decoded event with straight-line dict lookups.

    It is generated Python (one `get` per used key, nested as the used paths nest), because
    a generic walk spends most of its time on interpreter overhead: calls, loops and tuple
    building for a dozen lookups. It returns slot number -> value (see SlotValues), or None
    when a used path continues below an array, where only collect() knows whether the array
    rule matters, or when an object it visits has a key with a dot, which collect() follows
    (one string search per visited object; such keys are rare). None instead of a function
    when the trie is too big to be worth compiling.
    """
    lines = ["def extract(ev):", "    out = {}"]
    counter = [0]
    stats = {"nodes": 0, "fanout": 0, "depth": 0}

    def emit(node: TrieNode, var: str, depth: int) -> None:
        ind = "    " * depth
        lines.append(f"{ind}if '.' in ''.join({var}):")
        lines.append(f"{ind}    return None")
        stats["nodes"] += len(node.children)
        stats["fanout"] = max(stats["fanout"], len(node.children))
        stats["depth"] = max(stats["depth"], depth)
        for key, child in node.children.items():
            counter[0] += 1
            x = f"x{counter[0]}"
            lines.append(f"{ind}{x} = {var}.get({key!r}, M)")
            lines.append(f"{ind}t = {x}.__class__")
            slot = None if child.path is None else slots[child.path]
            if child.children:
                lines.append(f"{ind}if t is dict:")
                emit(child, x, depth + 1)
                lines.append(f"{ind}elif t is list:")
                lines.append(f"{ind}    return None")
                if slot is not None:
                    lines.append(f"{ind}elif t in LEAF:")
                    lines.append(f"{ind}    out[{slot}] = {x}")
            else:
                lines.append(f"{ind}if t in LEAF:")
                lines.append(f"{ind}    out[{slot}] = {x}")
                lines.append(f"{ind}elif t is list:")
                lines.append(f"{ind}    {x} = leaves({x})")
                lines.append(f"{ind}    if {x}:")
                lines.append(f"{ind}        out[{slot}] = {x}")

    emit(root, "ev", 1)
    if (
        stats["nodes"] > _MAX_GENERATED_NODES
        or stats["fanout"] > _MAX_GENERATED_FANOUT
        or stats["depth"] > _MAX_GENERATED_DEPTH
    ):
        return None
    lines.append("    return out")
    namespace: dict[str, Any] = {"M": NO_VALUE, "LEAF": _LEAF_TYPES, "leaves": _leaves}
    exec(compile("\n".join(lines), "<busbar used-path extractor>", "exec"), namespace)  # noqa: S102 - source built above from repr()'d keys only
    return namespace["extract"]  # type: ignore[no-any-return]


def _leaves(items: list[Any]) -> list[Any]:
    """Leaf values of an array at a path with no used paths below it (objects are no leaves)."""
    out: list[Any] = []
    for item in items:
        t = type(item)
        if t in _LEAF_TYPES:
            out.append(item)
        elif t is list:
            out.extend(_leaves(item))
    return out


def _mark_multi(node: TrieNode) -> int:
    count = 1 if node.path is not None else 0
    for child in node.children.values():
        count += _mark_multi(child)
    node.multi = count > 1
    return count


def decode_event(event: object) -> dict[str, Any]:
    """The event as a dict; JSON text and bytes are decoded once, with orjson."""
    t = type(event)
    if t is dict:
        return event  # type: ignore[return-value]
    # Exact-type tests first: bytes is the per-event case and isinstance costs more.
    if t is bytes or t is str or isinstance(event, bytes | bytearray | memoryview | str):
        try:
            event = orjson.loads(event)  # type: ignore[arg-type]
        except orjson.JSONDecodeError as exc:
            raise InvalidEvent(f"event is not valid JSON: {exc}") from None
    if not isinstance(event, dict):
        raise InvalidEvent("event must be a JSON object")
    return event


def collect(event: dict[str, Any], root: TrieNode, strict: bool) -> tuple[dict[Path, list[Any]], bool]:
    """Leaf values per used path, and whether the array rule may matter for this event.

    The flag is raised when the walk enters an object inside an array below which rules
    use several paths (or any path, when `strict`, because some rule names a path twice).
    """
    out: dict[Path, list[Any]] = {}
    return out, _walk(event, root, out, strict)


def _walk(obj: dict[str, Any], node: TrieNode, out: dict[Path, list[Any]], strict: bool) -> bool:
    # Hot path: leaves are handled inline rather than through _visit, saving a call per value.
    flagged = False
    children = node.children
    if len(children) < len(obj):
        pairs = [(obj[key], child) for key, child in children.items() if key in obj]
    else:
        pairs = [(value, children[key]) for key, value in obj.items() if key in children]
    if "." in "".join(obj):
        pairs.extend(_dotted(obj, node))
    for value, child in pairs:
        t = type(value)
        if t is str or t is int or t is float or t is bool or value is None:
            path = child.path
            if path is not None:
                values = out.get(path)
                if values is None:
                    out[path] = [value]
                else:
                    values.append(value)
        elif t is dict:
            if child.children and _walk(value, child, out, strict):
                flagged = True
        elif t is list and _visit(value, child, out, strict):
            flagged = True
    return flagged


def _visit(value: Any, node: TrieNode, out: dict[Path, list[Any]], strict: bool) -> bool:
    t = type(value)
    if t is dict:
        return bool(node.children) and _walk(value, node, out, strict)
    if t is list:
        flagged = False
        for item in value:
            if type(item) is dict and node.children and (node.multi or strict):
                flagged = True
            if _visit(item, node, out, strict):
                flagged = True
        return flagged
    path = node.path
    if path is not None and (t is str or t is int or t is float or t is bool or value is None):
        values = out.get(path)
        if values is None:
            out[path] = [value]
        else:
            values.append(value)
    return False


def collect_with_context(event: dict[str, Any], root: TrieNode) -> dict[Path, list[tuple[Any, Context]]]:
    """Leaf values per used path, each with the array elements it sits in."""
    out: dict[Path, list[tuple[Any, Context]]] = {}
    _walk_context(event, root, (), out)
    return out


def _walk_context(obj: dict[str, Any], node: TrieNode, ctx: Context, out: dict[Path, list[tuple[Any, Context]]]) -> None:
    for key, child in node.children.items():
        if key in obj:
            _visit_context(obj[key], child, ctx, out)
    if "." in "".join(obj):
        for value, child in _dotted(obj, node):
            _visit_context(value, child, ctx, out)


def _dotted(obj: dict[str, Any], node: TrieNode) -> list[tuple[Any, TrieNode]]:
    """(value, trie node) for each key of `obj` holding a dot whose parts lead down the trie."""
    pairs = []
    for key, value in obj.items():
        if "." in key:
            child = node
            for part in key.split("."):
                found = child.children.get(part)
                if found is None:
                    break
                child = found
            else:
                pairs.append((value, child))
    return pairs


def _visit_context(value: Any, node: TrieNode, ctx: Context, out: dict[Path, list[tuple[Any, Context]]]) -> None:
    t = type(value)
    if t is dict:
        _walk_context(value, node, ctx, out)
    elif t is list:
        for index, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                _visit_context(item, node, (*ctx, (id(value), index)), out)
            else:
                _visit_context(item, node, ctx, out)
    elif node.path is not None and (t is str or t is int or t is float or t is bool or value is None):
        out.setdefault(node.path, []).append((value, ctx))
