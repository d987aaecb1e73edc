"""Run a recursive parser again on a fresh thread's stack.

Python's recursion limit counts the frames already on the stack: json.loads or Jinja's parser,
called deep inside a scan, gives up on nesting that the same call from a loader's own top level
reads. A parse that fails with RecursionError is therefore tried once more from a new thread,
which starts with an empty stack; only if that fails too is the nesting beyond what a loader
would read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def retry_on_fresh_stack(parse: Callable[[], T]) -> T:
    """`parse()` on a new thread: its result, or the exception it raised (re-raised here)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(parse())
        except Exception as exc:  # handed back to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, name="aisbom-fresh-stack", daemon=True)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    if not outcome:
        raise RecursionError("the parser's thread ended without a result")
    return outcome[0]
