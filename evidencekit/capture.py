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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import _canonical, _content, _journal
from ._capture_file import CaptureContext, Progress, capture_file, fs_text, link_entry
from ._derived import apply_derived
from ._fs import is_disk_full
from ._store import sync_store
from ._tz import check_timezone
from ._walk import Found, walk_inputs
from .case import Case, ensure_consistent
from .chats import ParseOptions
from .errors import CaseStateError, InputError
from .manifest import Manifest, next_item_id
from .signing import SigningKey


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
        target.append({"path": fs_text(found.given), "reason": found.reason})
        return None
    assert future is not None
    try:
        return future.result()
    except InputError as exc:
        result.failed.append({"path": fs_text(found.given), "reason": exc.message})
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
