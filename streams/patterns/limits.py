"""Hard limits on patterns, kept in one place so the API layer can quote them.

Each limit exists so that no pattern can make the compiler or the matcher slow or crash,
and, where EventBridge documents one, so that we refuse what it refuses. The wildcard
complexity limit has a module of its own (complexity.py).
"""

from __future__ import annotations

# PutRule's EventPattern is at most 4096 characters (the default account quota is 2048 and
# can be raised to 4096; 4096 is the API's hard maximum, so we enforce that).
MAX_PATTERN_LENGTH = 4096

# Not documented by AWS; real patterns nest 3-5 levels. Guards recursion on dict input.
MAX_DEPTH = 64

# `$or` is expanded into alternative branches (disjunctive normal form). Parallel `$or`s
# multiply, so a 4 KB pattern could otherwise expand to 2**100 branches.
MAX_BRANCHES = 1024
