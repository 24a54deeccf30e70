"""Chat exports inside a capture: find them, capture zip members, write transcripts
(spec: docs/spec/transcript.md, docs/spec/manifest.md §4.5).

Invariants: every file of an export is an evidence item before its transcript is written
(zip members are captured one by one, files a single given chat file names are captured
when its parser asks for them); parsers read the case's checked copies, never a second
read of the user's files, except in an encrypted case, where they read the user's files as
for a hash-only capture (a decrypted copy would have to be written to disk; spec
case-layout §7.2) and transcripts are written encrypted as they are made; a chat export that cannot be parsed is still captured, and the
reason is reported like a failed file; every transcript goes to the journal before the
manifest names it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

from . import _journal
from ._bagsource import DAMAGED
from ._capture_file import CaptureContext, capture_file, capture_member
from ._content import place_sealed, seal_written
from ._fs import removing_on_error
from ._store import new_temp, place
from ._time import stamp
from ._walk import Found
from .capture import CaptureResult
from .case import Case
from .chats import Detected, FileTree, FolderTree, ParseOptions, ZipTree, detect, read
from .chats.transcript import write_transcript
from .digest import hash_file
from .errors import EvidenceKitError
from .manifest import derived_path

ZIP_TYPE = "application/zip"
SHOWN_PROBLEMS = 20  # reading problems listed in the capture result (all are in the transcript)
#: What reading a damaged or hostile export can raise besides our own errors: zipfile's CRC and
#: header checks and zlib on a damaged member, and the JSON decoder's recursion limit on deeply
#: nested input. The export stays captured; it is reported as not read, like a `FormatError`.
READ_ERRORS = (*DAMAGED, RecursionError)


@dataclass(frozen=True, slots=True)
class ChatSession:
    """One capture's state the chat step needs: where to record new entries and results."""

    case: Case
    ctx: CaptureContext
    options: ParseOptions
    journal: _journal.Writer
    entries: list[dict[str, Any]]
    result: CaptureResult

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        self.journal.append(entry)
        self.entries.append(entry)
        return entry

    def fail(self, where: str, reason: str) -> None:
        self.result.failed.append({"path": where, "reason": reason})

    def unread(self, where: str, reason: str) -> None:
        self.result.unread.append({"path": where, "reason": reason})


class _Copies:
    """This capture's file entries by absolute source path: their digests and checked copies."""

    def __init__(self, case: Case, entries: list[dict[str, Any]]):
        self.case = case
        self.by_abs = {e["sighting"]["absolute"]: e for e in entries if e["kind"] == "file"}

    def open(self, absolute: str) -> IO[bytes]:
        entry = self.by_abs.get(absolute)
        if entry is not None and entry["storage"] == "stored" and "blob" not in entry:
            return open(self.case.root / entry["object"], "rb")
        return open(absolute, "rb")

    def sha256(self, absolute: str) -> str:
        entry = self.by_abs.get(absolute)
        return str(entry["sha256"]) if entry is not None else hash_file(absolute).sha256


class _CaseFolderTree(FolderTree):
    """A given folder, read from the case's copies of its files."""

    def __init__(self, found_root: str, given: str, copies: _Copies):
        self.copies = copies
        super().__init__(found_root, label=given, hasher=lambda name: copies.sha256(str(self.path(name))))

    def open(self, name: str) -> IO[bytes]:
        if not self.exists(name):
            raise KeyError(name)
        return self.copies.open(str(self.path(name)))


class _CaseFileTree(FileTree):
    """A single given chat file; files it names next to it are captured when first asked for."""

    def __init__(self, absolute: str, given: str, copies: _Copies, capture: Callable[[str], dict[str, Any]]):
        self.copies = copies
        self.given_dir = os.path.dirname(given)
        super().__init__(absolute, label=given, hasher=self._hash)
        self._capture = capture

    def _hash(self, name: str) -> str:
        absolute = str(self.path(name))
        if absolute not in self.copies.by_abs:
            self.copies.by_abs[absolute] = self._capture(os.path.join(self.given_dir, name))
        return self.copies.sha256(absolute)

    def open(self, name: str) -> IO[bytes]:
        if not self.exists(name):
            raise KeyError(name)
        self.sha256(name)  # capture it first: parsers read the case's copy
        return self.copies.open(str(self.path(name)))


def capture_chats(session: ChatSession, given: list[str], found: list[Found]) -> None:
    """Find chat exports among what was captured, capture zip members, write transcripts."""
    copies = _Copies(session.case, session.entries)
    with ExitStack() as stack:
        for tree in _trees(session, given, found, copies, stack):
            try:
                detected = detect(tree)
            except (EvidenceKitError, *READ_ERRORS) as exc:
                session.unread(tree.label, f"could not be checked for chat exports: {_reason(exc)}")
                continue
            if detected and isinstance(tree, ZipTree):
                _capture_members(session, tree, found)
            for one in detected:
                _parse(session, tree, one)


def _trees(
    session: ChatSession, given: list[str], found: list[Found], copies: _Copies, stack: ExitStack
) -> Iterator[FolderTree | ZipTree]:
    for path in given:
        absolute = os.path.abspath(path)
        if os.path.isdir(absolute):
            yield _CaseFolderTree(absolute, path, copies)
        elif absolute in copies.by_abs and copies.by_abs[absolute]["media_type"] != ZIP_TYPE:
            yield _CaseFileTree(absolute, path, copies, lambda name: _capture_next_to(session, name))
    for item in found:
        entry = copies.by_abs.get(item.absolute)
        if item.kind == "file" and entry is not None and entry["media_type"] == ZIP_TYPE:
            try:
                plain_copy = entry["storage"] == "stored" and "blob" not in entry
                zipped = ZipTree(copies.case.root / entry["object"] if plain_copy else item.absolute)
            except EvidenceKitError:
                continue  # not a readable zip: it stays captured as it is
            zipped.label = item.given
            yield stack.enter_context(zipped)


def _capture_next_to(session: ChatSession, given: str) -> dict[str, Any]:
    entry = capture_file(session.case, Found("file", given, os.path.abspath(given)), session.ctx)
    return session.record(entry)


def _capture_members(session: ChatSession, tree: ZipTree, found: list[Found]) -> None:
    container = next(f for f in found if f.given == tree.label)
    for refused in tree.refused:
        session.result.skipped.append({"path": f"{tree.label}: {refused['member']}", "reason": refused["reason"]})
    for name in tree.names():
        try:
            entry = capture_member(session.case, container, tree, name, session.ctx)
        except EvidenceKitError as exc:
            session.fail(f"{tree.label}: {name}", exc.message)
            continue
        tree.set_sha256(name, session.record(entry)["sha256"])


def _parse(session: ChatSession, tree: FolderTree | ZipTree, detected: Detected) -> None:
    where = f"{tree.label}: {detected.main}"
    try:
        for chat in read(detected.parser, tree, detected.main, session.options):
            session.record(_write(session, tree, detected, chat))
    except (EvidenceKitError, *READ_ERRORS) as exc:
        session.unread(where, _reason(exc))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EvidenceKitError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    if isinstance(exc, RecursionError):
        return "it is nested too deeply to be read"
    return f"it is damaged: {exc or type(exc).__name__}"


def _write(session: ChatSession, tree: FolderTree | ZipTree, detected: Detected, chat: Any) -> dict[str, Any]:
    case, ctx = session.case, session.ctx
    temp = new_temp(case.root)
    blob: dict[str, Any] = {}
    with removing_on_error(temp):
        if ctx.recipients:
            fill = partial(write_transcript, parser=detected.parser, tree=tree, main=detected.main, chat=chat)
            written, digest, sealed = seal_written(temp, ctx.recipients, fill, tree.label)
            relpath, sealed = place_sealed(case.root, temp, digest.sha256, sealed, relpath=derived_path(digest.sha256))
            blob = {"blob": sealed}
        else:
            with open(temp, "wb") as out:
                written = write_transcript(out, detected.parser, tree, detected.main, chat)
            digest = hash_file(temp)
            relpath = place(case.root, temp, digest.sha256, relpath=derived_path(digest.sha256))
    container = tree.path if isinstance(tree, ZipTree) else None
    return {
        "kind": "derived",
        "derived_kind": "chat-transcript",
        **digest.to_json(),
        "object": relpath,
        **blob,
        "parser": {"name": detected.parser.NAME, "version": detected.parser.VERSION},
        "sources": sorted({tree.sha256(name) for name in written.files} | _container_sha(session, container)),
        "export": {"given": tree.label, "main": detected.main, "zip": container is not None},
        "options": _options_json(session.options),
        "chat": written.summary,
        "problem_list": chat.problems.first[:SHOWN_PROBLEMS],
        "created": stamp(ctx.now),
        "by": {"name": ctx.key.name, "fingerprint": ctx.key.public.fingerprint},
    }


def _container_sha(session: ChatSession, container: Any) -> set[str]:
    if container is None:
        return set()
    for entry in session.entries:
        if entry["kind"] == "file" and container in _where_read(session.case, entry):
            return {str(entry["sha256"])}
    return {hash_file(container).sha256}


def _where_read(case: Case, entry: dict[str, Any]) -> tuple[Path | None, ...]:
    """Where the chat step read a captured file: its plain copy, or (encrypted case) the user's file."""
    if "blob" in entry:
        return (Path(entry["sighting"]["absolute"]),)
    return (case.root / entry["object"],) if entry.get("object") else ()


def _options_json(options: ParseOptions) -> dict[str, Any]:
    result: dict[str, Any] = {"timezone": options.timezone, "timezone_from": options.timezone_from}
    if options.date_order:
        result["date_order"] = options.date_order
    return result
