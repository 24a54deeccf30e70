"""Read chats back: list them, and search their messages through an SQLite index.

Invariants: the index (`index/chats.sqlite`, spec: docs/spec/case-layout.md §1) is derived
from the signed transcripts only, never needed by `verify` and never evidence; it is built
in a temporary file and renamed into place, and rebuilt whenever the manifest's list of
transcripts differs from the one it was built from; reading never changes a transcript.
An encrypted case keeps no index on disk (its messages would be plaintext there): each
search decrypts the transcripts in a stream into an in-memory index (spec case-layout §7.2).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import IO, Any

from dateutil import parser as dateparser

from . import _canonical
from . import case as layout
from ._content import open_content
from ._fs import PRIVATE_FILE
from ._tz import parse_timezone
from .case import Case
from .chats._model import utc_text
from .chats.transcript import read_transcript
from .errors import CaseStateError, EvidenceKitError, InputError
from .manifest import Manifest, is_encrypted

INDEX_FILE = "chats.sqlite"
SCHEMA_VERSION = "2"  # 2: each message's line (`at`, `length`) in its transcript
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE messages(
    row INTEGER PRIMARY KEY, chat TEXT NOT NULL, n INTEGER NOT NULL, utc TEXT,
    sender TEXT, sender_id TEXT, text TEXT, attachments INTEGER NOT NULL, record TEXT NOT NULL,
    at INTEGER NOT NULL, length INTEGER NOT NULL);
CREATE INDEX messages_time ON messages(utc, chat, n);
CREATE INDEX messages_sender ON messages(sender);
"""
_FTS = "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='row', tokenize='unicode61 remove_diacritics 2')"


def list_chats(case: Case | str | os.PathLike[str], *, identities: Sequence[object] = ()) -> list[dict[str, Any]]:
    """The chats read into this case, from the signed manifest (id, platform, title, counts, sources).

    In an encrypted case the reading problems listed from each transcript (`problem_list`)
    need `identities`; without them the list is empty (the counts come from the manifest).
    """
    case = Case.coerce(case)
    _, manifest = case.read_manifest()
    chats = [entry for entry in manifest.get("derived", []) if entry["kind"] == "chat-transcript"]
    return [_chat_row(case, entry, identities) for entry in chats]


def _end_line(path: Path) -> dict[str, Any]:
    """The transcript's last line (its counts and problems), read from the end of the file."""
    with open(path, "rb") as stream:
        size = stream.seek(0, os.SEEK_END)
        chunk, start = b"", size
        while start > 0 and chunk.count(b"\n") < 2:
            start = max(0, start - (1 << 16))
            stream.seek(start)
            chunk = stream.read(size - start)
    record = _canonical.loads(chunk.rstrip(b"\n").rsplit(b"\n", 1)[-1], what="transcript end line", path=str(path))
    return record if isinstance(record, dict) and record.get("kind") == "end" else {}


def transcript_end(case: Case, entry: dict[str, Any], identities: Sequence[object] = ()) -> dict[str, Any]:
    """A transcript's end line (counts and reading problems); `{}` for an encrypted one without a key."""
    return _sealed_end_line(case, entry, identities) if "blob" in entry else _end_line(case.root / entry["object"])


def _sealed_end_line(case: Case, entry: dict[str, Any], identities: Sequence[object]) -> dict[str, Any]:
    """The last line of an encrypted transcript: read through in a stream (no seeking in age)."""
    if not identities:
        return {}
    last = b""
    with open_content(case.root, entry, identities) as stream:
        for line in stream:
            last = line if line.strip() else last
    record = _canonical.loads(last.rstrip(b"\n"), what="transcript end line", path=entry["object"])
    return record if isinstance(record, dict) and record.get("kind") == "end" else {}


def _chat_row(case: Case, entry: dict[str, Any], identities: Sequence[object]) -> dict[str, Any]:
    chat = entry.get("chat", {})
    try:
        problem_list = transcript_end(case, entry, identities).get("problems", {}).get("first", [])
    except (OSError, EvidenceKitError):
        problem_list = []  # a missing or damaged transcript: `verify` says so
    return {
        "problem_list": problem_list,
        "id": entry["id"],
        "platform": chat.get("platform"),
        "title": chat.get("title"),
        "messages": chat.get("messages", 0),
        "first": chat.get("first"),
        "last": chat.get("last"),
        "problems": chat.get("problems", 0),
        "parser": entry["parser"],
        "sha256": entry["sha256"],
        "sources": entry["sources"],
        "export": entry.get("export", {}),
    }


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """What `messages()` selects; every field is optional and they combine with AND."""

    chat: str | None = None
    sender: str | None = None
    since: str | None = None
    until: str | None = None
    contains: str | None = None
    with_attachments: bool = False


def list_messages(
    case: Case | str | os.PathLike[str], query: MessageQuery = MessageQuery(), *, identities: Sequence[object] = ()
) -> Iterator[dict[str, Any]]:
    """Yield matching messages in time order (messages without a time last), each with `chat`
    (its transcript id) and attachments' item ids (`item`) added. Builds the index if needed.

    An encrypted case needs `identities` to read its transcripts (`SigningKeyError` without).
    """
    case = Case.coerce(case)
    _, manifest = case.read_manifest()
    where, params = _where(query, manifest)
    items = {item["sha256"]: item["id"] for item in manifest["items"]}
    db, on_disk = _connect(case, manifest, identities)
    with contextlib.closing(db), _TranscriptLines(case, manifest) as lines:
        query_text = (
            f"SELECT chat, n, at, length, record FROM messages WHERE {where} ORDER BY utc IS NULL, utc, chat, n"
        )
        for chat_id, n, at, length, record in db.execute(query_text, params):
            # an index on disk only chooses the messages; their words come from the transcripts
            found = lines.message(chat_id, n, at, length) if on_disk else _canonical.loads(record.encode("utf-8"))
            yield _with_items(chat_id, found, items)


class _TranscriptLines:
    """Reads single message lines from a plain case's transcripts, by the index's positions.

    The index on disk is derived and unsigned; the transcripts are what `verify` checks. A
    line that is not the message the index says it is means the index is damaged or was
    changed: the reader is told to rebuild it, and nothing from it is shown.
    """

    def __init__(self, case: Case, manifest: Manifest):
        self.case = case
        self.entries = {entry["id"]: entry for entry in manifest.get("derived", [])}
        self.files: dict[str, IO[bytes]] = {}

    def __enter__(self) -> _TranscriptLines:
        return self

    def __exit__(self, *_exc: object) -> None:
        for stream in self.files.values():
            stream.close()

    def message(self, chat_id: str, n: int, at: int, length: int) -> dict[str, Any]:
        entry = self.entries.get(chat_id)
        try:
            if entry is None:
                raise EvidenceKitError(f"no transcript {chat_id} in the signed manifest")
            stream = self.files.get(chat_id)
            if stream is None:
                stream = self.files[chat_id] = open(self.case.root / entry["object"], "rb")  # noqa: SIM115 - closed in __exit__
            stream.seek(at)
            record = _canonical.loads(stream.read(length).removesuffix(b"\n"), what="transcript line")
            if not isinstance(record, dict) or record.get("kind") != "message" or record.get("n") != n:
                raise EvidenceKitError(f"message {n} of {chat_id} is not where the index says")
        except (OSError, EvidenceKitError) as exc:
            raise CaseStateError(
                f"the search index does not match the chat transcripts ({exc})",
                path=index_path(self.case),
                hint="rebuild it with `evidencekit reindex`; `evidencekit verify` checks the transcripts themselves",
            ) from None
        return record


def transcript_messages(
    case: Case, entry: dict[str, Any], item_ids: dict[str, str], identities: Sequence[object] = ()
) -> Iterator[dict[str, Any]]:
    """One chat's messages read straight from its transcript, in the export's order (`n`),
    each with `chat` and attachments' item ids (`item_ids`: SHA-256 to item id, from the
    manifest), as `list_messages` gives them.

    For reports: this is the file `verify` checks against the signed manifest, where the
    search index is derived and unsigned, so a changed index can never put words in a report.
    """
    with open_content(case.root, entry, identities) as stream:
        for record in read_transcript(stream, path=entry["object"]):
            if record.get("kind") == "message":
                yield _with_items(entry["id"], record, item_ids)


def _with_items(chat_id: str, record: dict[str, Any], items: dict[str, str]) -> dict[str, Any]:
    for attachment in record.get("attachments", ()):
        if attachment.get("sha256") in items:
            attachment["item"] = items[attachment["sha256"]]
    return {"chat": chat_id, **record}


def _where(query: MessageQuery, manifest: Manifest) -> tuple[str, list[Any]]:
    zone = manifest["case"]["timezone"]
    clauses, params = ["1"], []
    if query.chat:
        clauses.append("chat = ?")
        params.append(query.chat)
    if query.sender:
        clauses.append("(sender LIKE ? OR sender_id = ?)")
        params += [f"%{query.sender}%", query.sender]
    if query.since:
        clauses.append("utc >= ?")
        params.append(parse_when(query.since, zone, end=False))
    if query.until:
        clauses.append("utc <= ?")
        params.append(parse_when(query.until, zone, end=True))
    if query.with_attachments:
        clauses.append("attachments > 0")
    if query.contains:
        clauses.append("row IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)")
        params.append('"' + query.contains.replace('"', '""') + '"')
    return " AND ".join(clauses), params


def parse_when(text: str, zone: str, *, end: bool) -> str:
    """A date or time as people type it (`2023-08-01`, `1 Aug 2023 9pm`), read in the case's
    zone when it names none, as UTC text; a bare date as `until` means the end of that day."""
    default = datetime.combine(datetime.now().date(), time.max if end else time.min)
    try:
        moment = dateparser.parse(text, default=default)
    except (ValueError, OverflowError) as exc:
        raise InputError(
            f"cannot read {text!r} as a date or time", hint="write it as 2023-08-01 or '2023-08-01 21:30'"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=parse_timezone(zone))
    return utc_text(moment)


def index_path(case: Case) -> Path:
    """Where the case's search index is."""
    return case.path(layout.INDEX, INDEX_FILE)


def _fingerprint(manifest: Manifest) -> str:
    listed = [[e["id"], e["sha256"]] for e in manifest.get("derived", [])]
    return hashlib.sha256(_canonical.dumps([SCHEMA_VERSION, listed])).hexdigest()


def ensure_index(case: Case, manifest: Manifest) -> Path:
    """The index path, (re)built first if it is missing or was built from other transcripts."""
    path = index_path(case)
    with contextlib.suppress(sqlite3.Error, OSError):
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            found = db.execute("SELECT value FROM meta WHERE key = 'transcripts'").fetchone()
        if found and found[0] == _fingerprint(manifest):
            return path
    return reindex(case)


def _connect(case: Case, manifest: Manifest, identities: Sequence[object] = ()) -> tuple[sqlite3.Connection, bool]:
    """A read connection to an up-to-date index, and whether it is the one on disk; in memory
    when the case folder is read-only or encrypted (never a copy of the messages in the
    system's temporary folder), built from the transcripts by this process."""
    if not is_encrypted(manifest):
        with contextlib.suppress(OSError):
            return sqlite3.connect(f"file:{ensure_index(case, manifest)}?mode=ro", uri=True), True
    db = sqlite3.connect(":memory:")
    _build(db, case, manifest, identities)
    return db, False


def reindex(case: Case | str | os.PathLike[str]) -> Path:
    """Rebuild the search index from the case's transcripts; return its path.

    Raises `CaseStateError` for an encrypted case, which keeps no index on disk (searches
    build one in memory with the key each time).
    """
    case = Case.coerce(case)
    _, manifest = case.read_manifest()
    if is_encrypted(manifest):
        index_path(case).unlink(missing_ok=True)
        raise CaseStateError(
            "this case is encrypted: it keeps no search index on disk, where the messages would be readable",
            path=case.root,
            hint="nothing to rebuild: `evidencekit messages --identity key:NAME` searches with your key",
        )
    path = index_path(case)
    path.parent.mkdir(exist_ok=True)
    temp = path.with_name(f".{INDEX_FILE}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    _remove_killed_builds(path.parent)
    try:
        with contextlib.closing(sqlite3.connect(temp)) as db:
            _build(db, case, manifest)
        os.chmod(temp, PRIVATE_FILE)  # the messages' text: the owner's alone, like the case
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def _remove_killed_builds(folder: Path) -> None:
    """Delete what builds killed before their rename left (`.chats.sqlite.<pid>.tmp` and SQLite's
    side files), so copies of the messages do not pile up; a build whose process still runs is
    left alone. POSIX only: Windows has no harmless way to ask whether a process is alive."""
    if sys.platform == "win32":
        return
    for leftover in folder.glob(f".{INDEX_FILE}.*.tmp*"):
        pid = leftover.name.removeprefix(f".{INDEX_FILE}.").split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except OSError:
            pass  # the process exists (perhaps another user's): not ours to delete


def _build(db: sqlite3.Connection, case: Case, manifest: Manifest, identities: Sequence[object] = ()) -> None:
    db.executescript(_SCHEMA)
    db.execute(_FTS)
    for entry in manifest.get("derived", []):
        with open_content(case.root, entry, identities) as stream:
            lines = _Positions(stream)
            db.executemany(
                "INSERT INTO messages(chat, n, utc, sender, sender_id, text, attachments, record, at, length) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                _rows(entry["id"], read_transcript(lines, path=entry["object"]), lines),
            )
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    db.execute("INSERT INTO meta VALUES ('transcripts', ?)", (_fingerprint(manifest),))
    db.commit()


class _Positions:
    """A transcript's lines as `read_transcript` takes them, remembering where the last one given out starts and its length."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.start = self.length = 0

    def __iter__(self) -> Iterator[bytes]:
        at = 0
        for line in self.stream:
            self.start, self.length = at, len(line)
            at += len(line)
            yield line


def _rows(chat_id: str, records: Iterator[dict[str, Any]], lines: _Positions) -> Iterator[tuple[Any, ...]]:
    for record in records:  # `lines` is on the line each record was read from
        if record.get("kind") != "message":
            continue
        sender = record.get("from", {})
        yield (
            chat_id,
            record["n"],
            record.get("time", {}).get("utc"),
            sender.get("name"),
            sender.get("id"),
            record.get("text"),
            len(record.get("attachments", ())),
            _canonical.dumps(record).decode("utf-8"),
            lines.start,
            lines.length,
        )
