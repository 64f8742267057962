"""Importing a function's handler, the way Lambda's Python runtime does, with a clear reason when it fails.

The handler's module is looked up on the process's working directory first (Lambda's task root),
then on PYTHONPATH and the installed packages, and imported under the function's environment
variables, so module-level code that reads its configuration from os.environ works as on Lambda.
Any failure (the module missing, an exception while importing it, no such callable) becomes
`HandlerUnavailable` naming the handler and the cause: `busbar apply` reports it when the function
is declared, the worker logs it, and an invocation fails with it, never the worker.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from streams.function_definition import InvalidFunction, handler_parts
from streams.function_environ import function_variables

Handler = Callable[[Any, Any], Any]


class HandlerUnavailable(Exception):
    """The handler cannot be imported; the message says why (for a dead letter or a log line)."""


def import_handler(handler: str, variables: Mapping[str, str]) -> Handler:
    try:
        module_name, attribute = handler_parts(handler)
    except InvalidFunction as exc:
        raise HandlerUnavailable(str(exc)) from None
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    with function_variables(variables):
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # user code: anything may be raised while importing it
            raise HandlerUnavailable(f"handler {handler}: cannot import module {module_name} "
                                     f"(from {cwd} or PYTHONPATH): {type(exc).__name__}: {exc}") from None
    found = getattr(module, attribute, None)
    if not callable(found):
        raise HandlerUnavailable(f"handler {handler}: module {module_name} has no callable {attribute}")
    return found
