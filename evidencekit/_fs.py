"""File-system helpers: atomic writes, read-only files, the case lock, hostile-path checks.

Invariants: a file written with `atomic_write` is either the old bytes or the new bytes,
never a mix (temp file in the same folder, fsync, `os.replace`, fsync of the folder where
the OS allows it). `safe_relpath` is the one place that decides whether a relative path
from a manifest may be used under a root. Works on Windows, macOS and Linux.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from .errors import CaseBusyError, UnsafePathError


def fsync_dir(path: Path) -> None:
    """Make a rename or file creation in `path` durable (a no-op where the OS cannot)."""
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_atomic_leftover(name: str) -> bool:
    """Whether a file name is a temp file `atomic_write` left behind when killed mid-write."""
    return name.startswith(".") and name.endswith(".tmp")


#: Case files are the owner's alone (issue 7: owner-only permissions); public keys exported
#: for others pass `mode=0o644` explicitly.
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def atomic_write(path: Path, data: bytes, *, mode: int = PRIVATE_FILE) -> None:
    """Write `data` to `path` atomically: temp file, fsync, rename, fsync folder."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


#: `errno` values that mean the drive (or the user's quota on it) has no space left.
DISK_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` is an `OSError` saying the drive is full (`ENOSPC`, or over quota)."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL


def write_all(handle: IO[bytes], data: bytes | bytearray | memoryview) -> None:
    """Write every byte of `data` to `handle`.

    An unbuffered file may take fewer bytes than it was given, which is what a nearly full
    disk does first; the next write then raises `OSError(ENOSPC)`. Ignoring the short count
    would leave a copy that is silently too short.
    """
    view = memoryview(data).cast("B")
    while view:
        written = handle.write(view)
        if not written:
            raise OSError(errno.EIO, "the write made no progress")
        view = view[written:]


def append_durably(path: Path, data: bytes) -> None:
    """Append `data` in one write and fsync it (custody log records)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), PRIVATE_FILE)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)


def make_read_only(path: Path) -> None:
    """Remove every write bit from `path` (on Windows: set the read-only attribute)."""
    mode = os.stat(path).st_mode
    os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(path: Path) -> None:
    """Give the owner write permission back (used only to delete temp files)."""
    mode = os.stat(path).st_mode
    os.chmod(path, stat.S_IMODE(mode) | stat.S_IWUSR)


def safe_relpath(relpath: str, root: Path | None = None) -> PurePosixPath:
    """Check a relative POSIX path taken from a manifest or package; return it parsed.

    Rejects empty paths, absolute paths, drive letters, backslashes, `..`, `.` segments,
    NUL and other control characters, non-NFC text, and (when `root` is given) symbolic
    links that lead outside `root`. Raises `UnsafePathError`.
    """

    def bad(why: str) -> UnsafePathError:
        return UnsafePathError(
            f"unsafe path {relpath!r}: {why}", hint="the file was not made by evidencekit or was tampered with"
        )

    if not relpath:
        raise bad("it is empty")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in relpath):
        raise bad("it contains a control character")
    if "\\" in relpath:
        raise bad("it contains a backslash")
    if relpath.startswith("/") or (len(relpath) > 1 and relpath[1] == ":"):
        raise bad("it is absolute")
    if unicodedata.normalize("NFC", relpath) != relpath:
        raise bad("it is not in Unicode NFC form")
    parts = relpath.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise bad("it has an empty, '.' or '..' segment")
    if root is not None:
        resolved = (Path(root) / relpath).resolve()
        if not resolved.is_relative_to(Path(root).resolve()):
            raise bad("it leads outside the case through a symbolic link")
    return PurePosixPath(relpath)


class CaseLock:
    """An exclusive lock on a case folder, held while a command changes it.

    Uses `fcntl.flock` on POSIX and `msvcrt.locking` on Windows; the lock dies with the
    process, so a killed command never leaves a stale lock. Waits up to `wait` seconds.
    """

    def __init__(self, path: Path, *, wait: float = 10.0):
        self.path = Path(path)
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> CaseLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                _lock_fd(fd)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise CaseBusyError(
                        "another evidencekit command is changing this case",
                        path=self.path.parent,
                        hint="wait for it to finish, then run the command again",
                    ) from None
                time.sleep(0.1)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                _unlock_fd(self._fd)
            os.close(self._fd)
            self._fd = None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def removing_on_error(path: Path) -> Iterator[Path]:
    """Yield `path`; delete it if the block raises (so failures leave nothing behind)."""
    try:
        yield path
    except BaseException:
        with contextlib.suppress(OSError):
            make_writable(path)
            os.unlink(path)
        raise
