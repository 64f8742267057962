"""Which rules a replayed record may reach: those its replay named (FilterArns), or all of its
bus's when it named none, and never an archive, so a replayed event is not archived again.

Only records read from a bus's replay topic come here (router/dispatch.py knows them by their
topic), so live events pay nothing for replays, not even a look at their headers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from streams.replay_headers import REPLAY_RULES, decode_rules


def replayed_to(matched: Collection[Any], headers: Iterable[tuple[str, bytes]] | None) -> list[Any]:
    """The matched rules (with `name` and `archive`) this replayed record may reach."""
    chosen = None
    for name, value in headers or ():
        if name == REPLAY_RULES:
            chosen = decode_rules(value)
    return [rule for rule in matched if not rule.archive and (chosen is None or rule.name in chosen)]
