"""Turn the paths a user gives into the files to capture, never following links out.

Invariants: top-level paths are taken as given (a link named on the command line is
followed, like `find -H`); inside folders, symbolic links are recorded, not followed;
each folder is entered once (loops through bind mounts or links are detected); the case
folder itself is never captured; FIFOs, devices and sockets are skipped, never opened.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Found:
    """One thing found under a given path: a file to capture, a link to record, or a skip."""

    kind: str  # "file", "link", "skip", "error"
    given: str  # the path as the user would recognise it (the given path, joined with what lies below)
    absolute: str
    reason: str = ""
    target: str = ""
    inside: bool = False


def walk_inputs(paths: list[str], *, exclude: Path | None = None) -> Iterator[Found]:
    """Yield what each given path holds, in a stable order (sorted by name within folders)."""
    seen: set[tuple[int, int]] = set()
    for given in paths:
        absolute = os.path.abspath(given)
        try:
            info = os.stat(absolute)
        except OSError as exc:
            yield Found("error", given, absolute, reason=_describe(exc, "cannot be found or read"))
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from _walk_dir(given, absolute, Path(absolute).resolve(), seen, exclude)
        else:
            yield _classify(given, absolute, info)


def _describe(exc: OSError, fallback: str) -> str:
    return (exc.strerror or fallback).lower()


def _classify(given: str, absolute: str, info: os.stat_result) -> Found:
    if stat.S_ISREG(info.st_mode):
        return Found("file", given, absolute)
    kinds = {
        stat.S_ISFIFO: "a named pipe (FIFO)",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a device",
        stat.S_ISBLK: "a device",
    }
    what = next((name for test, name in kinds.items() if test(info.st_mode)), "not a regular file")
    return Found("skip", given, absolute, reason=f"{what}: only regular files can be captured")


def _walk_dir(
    given: str, absolute: str, top: Path, seen: set[tuple[int, int]], exclude: Path | None
) -> Iterator[Found]:
    try:
        info = os.stat(absolute)
    except OSError as exc:
        yield Found("error", given, absolute, reason=_describe(exc, "cannot be read"))
        return
    if (info.st_dev, info.st_ino) in seen:
        yield Found("skip", given, absolute, reason="this folder was already captured (a loop or a repeated path)")
        return
    seen.add((info.st_dev, info.st_ino))
    if exclude is not None and Path(absolute).resolve() == exclude:
        yield Found("skip", given, absolute, reason="this is the case folder itself; it is never captured into itself")
        return
    try:
        entries = sorted(os.scandir(absolute), key=lambda entry: entry.name)
    except OSError as exc:
        yield Found("error", given, absolute, reason=_describe(exc, "the folder cannot be listed"))
        return
    for entry in entries:
        yield from _walk_entry(entry, os.path.join(given, entry.name), top, seen, exclude)


def _walk_entry(
    entry: os.DirEntry[str], given: str, top: Path, seen: set[tuple[int, int]], exclude: Path | None
) -> Iterator[Found]:
    try:
        if entry.is_symlink():
            yield _link(entry, given, top)
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk_dir(given, entry.path, top, seen, exclude)
        else:
            yield _classify(given, entry.path, entry.stat(follow_symlinks=False))
    except OSError as exc:
        yield Found("error", given, entry.path, reason=_describe(exc, "cannot be read"))


def _link(entry: os.DirEntry[str], given: str, top: Path) -> Found:
    target = os.readlink(entry.path)
    try:
        inside = Path(entry.path).resolve().is_relative_to(top)
    except (OSError, RuntimeError):  # links in a loop (RuntimeError before Python 3.13)
        return Found(
            "link",
            given,
            entry.path,
            target=target,
            reason="symbolic link in a loop of links: recorded, not followed",
        )
    where = "inside" if inside else "outside"
    return Found(
        "link",
        given,
        entry.path,
        target=target,
        inside=inside,
        reason=f"symbolic link to {where} the captured folder: recorded, not followed",
    )
