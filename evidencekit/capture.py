"""Capture files into a case: copy byte for byte, hash, describe, sign (spec: docs/spec/manifest.md §5).

Invariants: input files are only ever opened read-only and never changed; each file is read
once (small files whole, large ones streamed) and its copy is checked before it is placed
in the store; a file whose bytes are already in the case gains a sighting, not a copy; every
result goes to the capture journal before the manifest is committed, so a capture killed at
any moment can be finished by `recover()`; one bad file never stops the batch.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import _canonical, _content, _journal
from ._derived import apply_derived
from ._fs import is_disk_full, removing_on_error, write_all
from ._store import new_temp, place, sync_store
from ._time import ns_to_utc_text, stamp
from ._tz import check_timezone
from ._walk import Found, walk_inputs
from .case import TOOL, Case, ensure_consistent
from .chats import ParseOptions, ZipTree
from .digest import SMALL_FILE, FileDigest, copy_and_hash, hash_bytes
from .errors import CaseStateError, InputError
from .imaging import analyze_image
from .manifest import Manifest, next_item_id
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


@dataclass
class CaptureResult:
    """What a capture did: items added or seen again, links recorded, paths skipped or failed."""

    items: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    chats: list[dict[str, Any]] = field(default_factory=list)
    unread: list[dict[str, str]] = field(default_factory=list)  # chat exports captured but not readable
    custody_seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        return {
            "items": self.items,
            "links": self.links,
            "skipped": self.skipped,
            "failed": self.failed,
            "chats": self.chats,
            "unread": self.unread,
            "custody_seq": self.custody_seq,
        }


def _text(value: str) -> str:
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
        "name": _text(os.path.basename(found.absolute)),
        "path": _text(found.given),
        "absolute": _text(found.absolute),
        "fs": _fs_times(info),
        "tool": dict(TOOL),
        "os": {"name": platform.system(), "release": platform.release()},
    }
    if _text(found.absolute) != found.absolute:
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
    entry["sighting"]["name"] = _text(os.path.basename(name))
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
        "path": _text(found.given),
        "absolute": _text(found.absolute),
        "target": _text(found.target),
        "inside": found.inside,
        "captured": stamp(ctx.now),
        "by": {"name": ctx.key.name, "fingerprint": ctx.key.public.fingerprint},
    }


def apply_entries(manifest: Manifest, entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge journal entries into the manifest; return one summary per file entry (id, path, new)."""
    by_sha = {item["sha256"]: item for item in manifest["items"]}
    summaries = []
    for entry in entries:
        if entry["kind"] == "link":
            manifest["links"].append({k: v for k, v in entry.items() if k != "kind"})
            continue
        if entry["kind"] == "derived":
            continue  # applied by `apply_derived` once every file is an item
        item = by_sha.get(entry["sha256"])
        new = item is None
        if item is None:
            item = _new_item(manifest, entry)
            by_sha[item["sha256"]] = item
        else:
            item["sightings"].append(entry["sighting"])
            if item["storage"] == "hash-only" and entry["storage"] == "stored":
                item["storage"], item["object"] = "stored", entry["object"]
                if "blob" in entry:
                    item["blob"] = entry["blob"]
        member = entry["sighting"].get("member")
        summaries.append(
            {
                "id": item["id"],
                "path": entry["sighting"]["path"] + (f": {member['path']}" if member else ""),
                "new": new,
                "storage": item["storage"],
                "sha256": item["sha256"],
                "analysis": item["analysis"].get("status", "not-applicable"),
            }
        )
    return summaries


def _new_item(manifest: Manifest, entry: dict[str, Any]) -> dict[str, Any]:
    item = {k: entry[k] for k in ("sha256", "sha1", "md5", "size", "media_type", "storage", "analysis")}
    item["id"] = next_item_id(manifest)
    item["sightings"] = [entry["sighting"]]
    if entry["storage"] == "stored":
        item["object"] = entry["object"]
        if "blob" in entry:
            item["blob"] = entry["blob"]
    manifest["items"].append(item)
    return item


def _workers() -> int:
    return max(2, min(5, (os.cpu_count() or 1) + 1))  # one more than the cores hides file-creation waits


def capture(
    case: Case | str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    *,
    key: SigningKey,
    source: str | None = None,
    url: str | None = None,
    platform: str | None = None,
    note: str | None = None,
    hash_only: bool = False,
    timezone: str | None = None,
    date_order: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> CaptureResult:
    """Capture files and folders into `case`, sign the new manifest and log the capture.

    Chat exports among them (a folder, a zip or a single file, recognised by content) are
    also parsed into transcripts (`.chats`); `timezone` (default: the case's) is how times
    without a zone are read, `date_order` (`dmy`, `mdy`, `ymd`) settles a WhatsApp file
    whose dates cannot tell. Returns a `CaptureResult`; paths that could not be captured
    or read at all are in `.failed` (the CLI exits 3 for them after saving the rest).
    Raises `CaseStateError` when an earlier capture was interrupted (run `recover()`
    first) and `CaseBusyError` when another command holds the case.
    """
    from ._chatcapture import ChatSession, capture_chats  # it builds on this module

    if not paths:
        raise InputError("no files or folders were given to capture", hint="name at least one file or folder")
    case = Case.coerce(case)
    result = CaptureResult()
    with case.lock(), _disk_full_stops(case):
        ensure_consistent(case)
        _, manifest = case.read_manifest()
        recipients = _content.case_recipients(manifest)
        ctx = CaptureContext(key, source, url, platform, note, hash_only, now, recipients)
        given = [os.fspath(p) for p in paths]
        found = list(walk_inputs(given, exclude=case.root.resolve()))
        options = _parse_options(manifest, timezone, date_order)
        with _journal.Writer(case, manifest["revision"]) as journal:
            entries = _run(case, journal, found, ctx, result, progress, on_total)
            capture_chats(ChatSession(case, ctx, options, journal, entries, result), given, found)
        result.items = apply_entries(manifest, entries)
        result.chats = [apply_derived(manifest, e) for e in entries if e["kind"] == "derived"]
        if entries:
            _commit_capture(case, manifest, entries, ctx, result)
        else:
            _journal.clear(case)  # nothing was captured: the case is unchanged
    return result


@contextlib.contextmanager
def _disk_full_stops(case: Case) -> Iterator[None]:
    """A full disk outside one file's copy (journal, transcript, manifest) stops the capture
    with a clear error; what was saved stays in the store and the journal for `recover()`."""
    try:
        yield
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        raise CaseStateError(
            "the disk that holds the case is full, so the capture could not be finished",
            path=case.root,
            hint="free some space on that drive (or move the case to another drive), then run "
            "`evidencekit recover`: it keeps every file saved so far; then capture the rest again",
        ) from exc


def _parse_options(manifest: Manifest, timezone: str | None, date_order: str | None) -> ParseOptions:
    if date_order not in (None, "dmy", "mdy", "ymd"):
        raise InputError(f"unknown date order {date_order!r}", hint="use dmy, mdy or ymd")
    if timezone is None:
        return ParseOptions(manifest["case"]["timezone"], "case", date_order)
    return ParseOptions(check_timezone(timezone), "option", date_order)


def _run(
    case: Case,
    journal: _journal.Writer,
    found: list[Found],
    ctx: CaptureContext,
    result: CaptureResult,
    progress: Progress | None,
    on_total: Callable[[int], None] | None,
) -> list[dict[str, Any]]:
    files = [f for f in found if f.kind == "file"]
    if on_total:
        on_total(sum(_size(f.absolute) for f in files))
    entries: list[dict[str, Any]] = []
    with ThreadPoolExecutor(_workers()) as pool:
        futures: dict[int, Future[dict[str, Any]]] = {
            i: pool.submit(capture_file, case, f, ctx, progress) for i, f in enumerate(found) if f.kind == "file"
        }
        try:
            for index, item in enumerate(found):
                entry = _outcome(item, futures.get(index), ctx, result)
                if entry is not None:
                    _journal_append(journal, entry, pool)
                    entries.append(entry)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: stop; the journal keeps what was saved
            raise
    return entries


def _journal_append(journal: _journal.Writer, entry: dict[str, Any], pool: ThreadPoolExecutor) -> None:
    """Append to the journal; on a full disk, let the running copies end first (a copy that
    filled the disk fails and deletes its partial copy, giving the space back), then try again."""
    try:
        journal.append(entry)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        pool.shutdown(wait=True)
        journal.append(entry)


def _outcome(
    found: Found, future: Future[dict[str, Any]] | None, ctx: CaptureContext, result: CaptureResult
) -> dict[str, Any] | None:
    if found.kind == "link":
        entry = link_entry(found, ctx)
        result.links.append({"path": entry["path"], "target": entry["target"], "reason": found.reason})
        return entry
    if found.kind in ("skip", "error"):
        target = result.skipped if found.kind == "skip" else result.failed
        target.append({"path": _text(found.given), "reason": found.reason})
        return None
    assert future is not None
    try:
        return future.result()
    except InputError as exc:
        result.failed.append({"path": _text(found.given), "reason": exc.message})
        return None


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _commit_capture(
    case: Case, manifest: Manifest, entries: list[dict[str, Any]], ctx: CaptureContext, result: CaptureResult
) -> None:
    sync_store()
    ids = list(dict.fromkeys(s["id"] for s in result.items))
    details: dict[str, Any] = {
        "files": len(result.items),
        "new_items": sum(1 for s in result.items if s["new"]),
        "links": len(result.links),
        "skipped": result.skipped,
        "failed": result.failed,
        "hash_only": ctx.hash_only,
    }
    for name in ("source", "url", "platform"):
        if getattr(ctx, name):
            details[name] = getattr(ctx, name)
    if result.chats:
        details["transcripts"] = [chat["id"] for chat in result.chats]
    line = case.commit(manifest, key=ctx.key, action="capture", items=ids, note=ctx.note, details=details, now=ctx.now)
    result.custody_seq = _canonical.loads(line)["seq"]
    _journal.clear(case)
