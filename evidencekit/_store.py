"""The content-addressed object store inside a case (spec: docs/spec/case-layout.md §2).

Invariants: an object's name is the SHA-256 of its bytes; it is placed by an atomic
rename from `tmp/` only after its bytes were checked, and made read-only first; an
existing object is never overwritten (the same name means the same bytes).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from ._fs import make_read_only, make_writable
from .manifest import object_path


def new_temp(case_root: Path) -> Path:
    """Create an empty temporary file in the case's `tmp/` folder and return its path."""
    tmp_dir = case_root / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="partial-", dir=tmp_dir)
    os.close(fd)
    return Path(name)


def discard(path: Path) -> None:
    """Delete a temporary file, ignoring one that is already gone."""
    with contextlib.suppress(OSError):
        make_writable(path)
        os.unlink(path)


def place(case_root: Path, temp: Path, sha256: str, *, relpath: str | None = None) -> str:
    """Move a checked temporary copy into the store under its SHA-256 (or to `relpath`, a
    content-named derived file); return the relative path."""
    relpath = relpath or object_path(sha256)
    target = case_root / relpath
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # a new folder takes space: may fail on a full disk
        if not hasattr(os, "sync"):  # Windows: no global sync, so flush each object while it is writable
            _fsync_file(temp)
        make_read_only(temp)
        if target.exists():
            discard(temp)
            return relpath
        os.replace(temp, target)
    except PermissionError:
        if sys.platform != "win32" or not target.exists():
            discard(temp)
            raise
        discard(temp)  # Windows: a concurrent capture placed the same content first
    except OSError:
        discard(temp)  # never leave a checked copy behind that no one will place
        raise
    return relpath


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_store() -> None:
    """Make new objects durable before the manifest names them (spec case-layout §3 step 1).

    One `os.sync()` where the OS has it (cheaper than an fsync per small file); on
    Windows each object was already flushed by `place()`.
    """
    if hasattr(os, "sync"):
        os.sync()
