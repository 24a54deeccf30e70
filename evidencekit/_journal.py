"""The capture journal: what a running capture has saved, so a crash loses nothing.

Invariants: one canonical JSON entry a line, appended after the entry's object is in the
store and before the manifest names it; a torn last line (a crash mid-write) is ignored;
the journal is removed only after the custody record of its capture is durable.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from . import _canonical
from ._fs import write_all
from .case import JOURNAL, Case
from .errors import FormatError

NAME = "capture.jsonl"


def journal_path(case: Case) -> Path:
    """Where the running capture's journal lives."""
    return case.path(JOURNAL, NAME)


def pending(case: Case) -> bool:
    """Whether an interrupted capture left a journal behind."""
    path = journal_path(case)
    return path.exists() and path.stat().st_size > 0


class Writer:
    """Appends entries to the journal (one write per entry, no fsync: the commit syncs)."""

    def __init__(self, case: Case, base_revision: int):
        self.path = journal_path(case)
        self.base_revision = base_revision
        self._handle: Any = None

    def __enter__(self) -> Writer:
        self.path.parent.mkdir(exist_ok=True)
        self._handle = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in __exit__
        self.append({"kind": "start", "base_revision": self.base_revision})
        return self

    def append(self, entry: dict[str, Any]) -> None:
        write_all(self._handle, _canonical.dumps(entry) + b"\n")  # a short write on a full disk must not cut a line

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def read_entries(case: Case) -> tuple[int | None, list[dict[str, Any]], int]:
    """Return the manifest revision the journal started from, its complete entries, and how
    many torn or unreadable lines were dropped."""
    path = journal_path(case)
    if not path.exists():
        return None, [], 0
    base, entries, dropped = None, [], 0
    for line in path.read_bytes().split(b"\n"):
        if not line:
            continue
        try:
            entry = _canonical.loads(line, what="journal entry")
        except FormatError:
            dropped += 1
            continue
        if isinstance(entry, dict) and entry.get("kind") == "start":
            base = entry.get("base_revision")
        elif isinstance(entry, dict):
            entries.append(entry)
    return base, entries, dropped


def clear(case: Case) -> None:
    """Remove the journal once its capture is committed."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal_path(case))
