"""One file (or zip member) into the case: read once, hash, copy or seal, describe; return its
journal entry (spec: docs/spec/manifest.md §4, case-layout §2).

Invariants: input files are only ever opened read-only and never changed; each file is read
once (small files whole, large ones streamed) and its copy is checked before it is placed in
the store (encrypted cases: sealed while copied, never a plaintext file on disk); a full disk
is reported for the one file it hit, with what to do.
"""

from __future__ import annotations

import os
import platform
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import _content
from ._fs import is_disk_full, removing_on_error, write_all
from ._store import new_temp, place
from ._time import ns_to_utc_text, stamp
from ._walk import Found
from .case import TOOL, Case
from .chats import ZipTree
from .digest import SMALL_FILE, FileDigest, copy_and_hash, hash_bytes
from .errors import InputError
from .imaging import analyze_image
from .media import IMAGE_TYPES, SNIFF_BYTES, sniff_media_type
from .signing import SigningKey

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class CaptureContext:
    """What the user said about where the material came from, and who captures it."""

    key: SigningKey
    source: str | None = None
    url: str | None = None
    platform: str | None = None
    note: str | None = None
    hash_only: bool = False
    now: datetime | None = None
    recipients: tuple[object, ...] = ()  # an encrypted case's: copies are stored encrypted to these


def fs_text(value: str) -> str:
    """Make a file-system string safe for canonical JSON (undecodable bytes become U+FFFD)."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _fs_times(info: os.stat_result) -> dict[str, str]:
    times = {"modified": ns_to_utc_text(info.st_mtime_ns), "accessed": ns_to_utc_text(info.st_atime_ns)}
    birth_seconds = getattr(info, "st_birthtime", None)
    birth = getattr(info, "st_birthtime_ns", None) or (int(birth_seconds * 1e9) if birth_seconds else None)
    if sys.platform == "win32" and birth is None:
        birth = info.st_ctime_ns  # Windows reports creation time as st_ctime before Python 3.12
    elif sys.platform != "win32":
        times["changed"] = ns_to_utc_text(info.st_ctime_ns)
    if birth:
        times["born"] = ns_to_utc_text(birth)
    return times


def _sighting(found: Found, info: os.stat_result, ctx: CaptureContext) -> dict[str, Any]:
    sighting: dict[str, Any] = {
        "captured": stamp(ctx.now),
        "by": {"name": ctx.key.name, "fingerprint": ctx.key.public.fingerprint},
        "name": fs_text(os.path.basename(found.absolute)),
        "path": fs_text(found.given),
        "absolute": fs_text(found.absolute),
        "fs": _fs_times(info),
        "tool": dict(TOOL),
        "os": {"name": platform.system(), "release": platform.release()},
    }
    if fs_text(found.absolute) != found.absolute:
        sighting["absolute_bytes_hex"] = os.fsencode(found.absolute).hex()
    for name in ("source", "url", "platform", "note"):
        if getattr(ctx, name):
            sighting[name] = getattr(ctx, name)
    return sighting


def _open_source(absolute: str) -> tuple[int, os.stat_result]:
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(absolute, flags)
    info = os.fstat(fd)
    if not os.path.isfile(absolute) or (info.st_mode & 0o170000) != 0o100000:
        os.close(fd)
        raise InputError("it is no longer a regular file", path=absolute)
    return fd, info


def _read_all(src: Any) -> bytes:
    chunks = []
    while chunk := src.read(1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _copy_small(case_root: Path, data: bytes, where: str) -> Path:
    temp = new_temp(case_root)
    with removing_on_error(temp), open(temp, "r+b", buffering=0) as out:
        write_all(out, data)
        out.seek(0)
        if out.read() != data:
            raise InputError(
                "the copy in the case does not read back identical",
                path=where,
                hint="the disk or memory may be failing; capture to another drive",
            )
        if hasattr(os, "posix_fadvise"):  # start writing it to disk now, so the final sync has little left
            os.posix_fadvise(out.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    return temp


def _copy_large(case_root: Path, src: Any, where: str, progress: Progress | None) -> tuple[FileDigest, Path]:
    temp = new_temp(case_root)
    with removing_on_error(temp), open(temp, "wb", buffering=0) as dst, open(temp, "rb", buffering=0) as check:
        digest = copy_and_hash(src, dst, check, where=where, progress=progress)
    return digest, temp


@dataclass(frozen=True, slots=True)
class _Read:
    """What one read of a source file gave: its first bytes, digests, and content or copy."""

    head: bytes
    digest: FileDigest
    data: bytes | None  # the whole content, for small files (analysed from memory)
    temp: Path | None  # the checked copy, not yet placed in the store
    blob: dict[str, Any] | None = None  # the copy's own digest when it is encrypted


def _read_source(case: Case, src: Any, size: int, ctx: CaptureContext, where: str, progress: Progress | None) -> _Read:
    head = src.read(SNIFF_BYTES)
    src.seek(0)
    if size <= SMALL_FILE:
        data = _read_all(src)
        temp, blob = None, None
        if ctx.recipients and not ctx.hash_only:
            temp, blob = _content.seal_bytes(case.root, data, ctx.recipients, where)
        elif not ctx.hash_only:
            temp = _copy_small(case.root, data, where)
        if progress:
            progress(len(data))
        return _Read(head, hash_bytes(data), data, temp, blob)
    if ctx.hash_only:
        return _Read(head, copy_and_hash(src, where=where, progress=progress), None, None)
    if ctx.recipients:  # spec case-layout §7.2: encrypted while copied, plaintext hashed from the source
        digest, temp, blob = _content.seal_stream(case.root, src, ctx.recipients, where, progress)
        return _Read(head, digest, None, temp, blob)
    digest, temp = _copy_large(case.root, src, where, progress)
    return _Read(head, digest, None, temp)


def _analyse(media_type: str, source: bytes | Path, name: str) -> dict[str, Any]:
    if media_type not in IMAGE_TYPES:
        return {"status": "not-applicable"}
    return analyze_image(source, media_type=media_type, name=name)


def capture_file(case: Case, found: Found, ctx: CaptureContext, progress: Progress | None = None) -> dict[str, Any]:
    """Capture one regular file; return its journal entry. Raises `InputError` if it cannot be read."""
    try:
        before = os.stat(found.absolute)
        fd, info = _open_source(found.absolute)
        with os.fdopen(fd, "rb", buffering=0) as src:
            read = _read_source(case, src, info.st_size, ctx, found.given, progress)
            after = os.fstat(src.fileno())
    except OSError as exc:
        raise _os_error(exc, found.given, f"cannot read the file: {(exc.strerror or str(exc)).lower()}") from exc
    entry = _entry(case, found, ctx, before, read, found.given)
    if (after.st_size, after.st_mtime_ns) != (info.st_size, info.st_mtime_ns) or read.digest.size != info.st_size:
        entry["sighting"]["changed_during_capture"] = True
    stored = case.root / entry["object"] if read.temp and not read.blob else Path(found.absolute)
    source = read.data if read.data is not None else stored
    entry["analysis"] = _analyse(entry["media_type"], source, os.path.basename(found.absolute))
    return entry


def capture_member(case: Case, container: Found, tree: ZipTree, name: str, ctx: CaptureContext) -> dict[str, Any]:
    """Capture one member of a captured zip (a chat export's file); return its journal entry."""
    info = tree.info(name)
    where = f"{container.given}: {name}"
    try:
        before = os.stat(container.absolute)
        with tree.open(name) as src:
            read = _read_source(case, src, info.file_size, ctx, where, None)
    except OSError as exc:
        raise _os_error(exc, where, f"cannot read this member of the zip: {exc}") from exc
    except (zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"cannot read this member of the zip: {exc}", path=where) from exc
    entry = _entry(case, container, ctx, before, read, where)
    entry["sighting"]["name"] = fs_text(os.path.basename(name))
    entry["sighting"]["member"] = {
        "path": name,
        "modified": "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}".format(*info.date_time),
        "crc32": f"{info.CRC:08x}",
    }
    stored = case.root / entry["object"] if read.temp and not read.blob else None  # never a decrypted file
    source = read.data if read.data is not None else stored
    entry["analysis"] = _analyse(entry["media_type"], source, name) if source is not None else _unanalysed(entry)
    return entry


#: Said for a file whose copy did not fit (spec case-layout §2: its partial copy is deleted).
DISK_FULL_REASON = (
    "the disk that holds the case is full, so no copy could be kept: "
    "free some space, or capture into a case on another drive, then capture it again"
)


def _os_error(exc: OSError, where: str, message: str) -> InputError:
    """The error for one file: a full disk says so and what to do; anything else says `message`."""
    return InputError(DISK_FULL_REASON if is_disk_full(exc) else message, path=where)


def _unanalysed(entry: dict[str, Any]) -> dict[str, Any]:
    if entry["media_type"] not in IMAGE_TYPES:
        return {"status": "not-applicable"}
    return {"status": "failed", "reason": "a large zip member kept as hashes only is not analysed"}


def _entry(
    case: Case, found: Found, ctx: CaptureContext, before: os.stat_result, read: _Read, where: str
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": "file",
        **read.digest.to_json(),
        "media_type": sniff_media_type(read.head),
        "storage": "hash-only" if read.temp is None else "stored",
        "sighting": _sighting(found, before, ctx),
    }
    try:
        if read.temp is not None and read.blob is not None:
            entry["object"], entry["blob"] = _content.place_sealed(case.root, read.temp, read.digest.sha256, read.blob)
        elif read.temp is not None:
            entry["object"] = place(case.root, read.temp, read.digest.sha256)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        raise InputError(DISK_FULL_REASON, path=where) from exc
    return entry


def link_entry(found: Found, ctx: CaptureContext) -> dict[str, Any]:
    """The journal entry for a symbolic link found inside a captured folder."""
    return {
        "kind": "link",
        "path": fs_text(found.given),
        "absolute": fs_text(found.absolute),
        "target": fs_text(found.target),
        "inside": found.inside,
        "captured": stamp(ctx.now),
        "by": {"name": ctx.key.name, "fingerprint": ctx.key.public.fingerprint},
    }
