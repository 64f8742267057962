"""Each function's environment variables, seen by its handler only, in one shared process.

AWS Lambda gives every function a process of its own, whose environment holds the function's
variables. busbar runs many functions' handlers in one worker process, where `os.environ` is
shared, and setting a function's variables there would show them to every other handler
running at the same time. So `install()` puts a layered mapping in place of `os.environ`: a
read first looks at the variables of the function whose handler is running (held in a context
variable, which asyncio tasks and the handler's thread each carry with them), then at the
process's environment. `os.environ["X"]` and `os.getenv("X")` in a handler (and in its module's
top-level code, which is imported under its function's variables) see its function's value.

What it cannot do: child processes a handler starts inherit the process's environment, not the
function's (pass `env=os.environ.copy()` to subprocess to give them the function's), and a module
shared by two functions is imported once, under the variables of whichever imported it first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_variables: ContextVar[dict[str, str] | None] = ContextVar("busbar_function_variables", default=None)


class LayeredEnviron(MutableMapping[str, str]):
    """The running function's variables over the process's environment (`base`, the real os.environ)."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self.base = base

    def __getitem__(self, key: str) -> str:
        variables = _variables.get()
        if variables is not None and key in variables:
            return variables[key]
        return self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        """Inside a function, a write changes that invocation's variables only."""
        variables = _variables.get()
        if variables is not None:
            variables[key] = value
        else:
            self.base[key] = value

    def __delitem__(self, key: str) -> None:
        variables = _variables.get()
        if variables is not None and key in variables:
            del variables[key]
        else:
            self.base.__delitem__(key)

    def __iter__(self) -> Iterator[str]:
        variables = _variables.get() or {}
        yield from variables
        yield from (key for key in self.base if key not in variables)

    def __len__(self) -> int:
        variables = _variables.get() or {}
        return len(variables) + sum(1 for key in self.base if key not in variables)

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __getattr__(self, name: str) -> Any:  # os._Environ's own helpers (encodekey, ...)
        return getattr(self.base, name)


def install() -> None:
    """Replace os.environ (and so os.getenv) with the layered mapping, once per process."""
    if not isinstance(os.environ, LayeredEnviron):
        os.environ = LayeredEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003 (replaced on purpose)


@contextmanager
def function_variables(variables: Mapping[str, str]) -> Iterator[None]:
    """Within this block (and tasks and threads started from it with its context), os.environ
    shows `variables` over the process's environment. Each block has its own copy."""
    install()
    token = _variables.set(dict(variables))
    try:
        yield
    finally:
        _variables.reset(token)
