"""PyCQA's bandit, used as a library on the bytes of one Python file: nothing is written, nothing
imported from the file. Shipped code is hostile, so its `# nosec` comments are ignored.

Bandit loads its plugins once (about a second), on first use; the manager is shared, so calls
are serialised.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from dataclasses import dataclass
from typing import Any

# Tests that say nothing about what shipped code does to the machine that loads it: asserts,
# pseudo-random numbers, hard-coded passwords, swallowed exceptions, weak hashes (checksums and
# cache keys), SQL string building.
_IRRELEVANT = frozenset({"B101", "B105", "B106", "B107", "B110", "B112", "B303", "B311", "B324", "B608"})
_REPORTED = ("MEDIUM", "HIGH")


@dataclass(frozen=True)
class BanditIssue:
    test_id: str  # "B614"
    test: str  # "pytorch_load"
    severity: str  # "MEDIUM" | "HIGH"
    confidence: str
    line: int
    text: str


class BanditFailed(Exception):
    """Bandit could not analyse the file (it skipped it); the message says why."""


_lock = threading.Lock()
_manager: Any = None


def run_bandit(source: bytes) -> list[BanditIssue]:
    """Bandit's medium and high issues in `source`, less the irrelevant tests. Raises
    BanditFailed when bandit skips the file."""
    with _lock:
        manager = _shared_manager()
        manager.results = []
        manager.skipped = []
        # A name without a directory: bandit looks for __init__.py files next to the path.
        label = "./shipped_module.py"
        with warnings.catch_warnings():  # bandit parses the file again: its syntax warnings
            warnings.simplefilter("ignore")
            manager._parse_file(label, io.BytesIO(source), [label])  # the file-object entry point
        if manager.skipped:
            raise BanditFailed(str(manager.skipped[0][1]))
        issues = list(manager.results)
    return [
        BanditIssue(i.test_id, i.test, i.severity, i.confidence, int(i.lineno), str(i.text))
        for i in issues
        if i.severity in _REPORTED and i.test_id not in _IRRELEVANT
    ]


def _shared_manager() -> Any:
    global _manager
    if _manager is None:
        with warnings.catch_warnings():  # stevedore's deprecation of an argument bandit passes
            warnings.simplefilter("ignore", DeprecationWarning)
            from bandit.core import config, manager  # late: loading bandit's plugins takes a second

            # Bandit logs what it skips and names it cannot qualify; a scan reports through findings.
            logging.getLogger("bandit").setLevel(logging.CRITICAL)
            _manager = manager.BanditManager(config.BanditConfig(), "file", quiet=True, ignore_nosec=True)
    return _manager
