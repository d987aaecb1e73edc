"""Imports that last as long as the process, taken out of the cyclic collector's way.

cyclonedx-python-lib creates some 100,000 objects as it is imported (classes,
functions, their dicts), all alive until the process ends. Imported with the collector on, each
of them is walked again by the young collections that follow (about 10 ms of CPU in an
`aisbom bom`, where nothing else collects much). Frozen, they are skipped from then on.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def frozen_after() -> Iterator[None]:
    """Run the block without collections, then freeze every object alive. What the process had
    made before is frozen too: garbage among it that only a collection would free (objects in a
    cycle) stays until exit, which aisbom's short-lived commands can afford."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
